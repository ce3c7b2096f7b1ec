-- The ERP: it keeps customers too, and a credit limit that is its own business (local).
CREATE TABLE IF NOT EXISTS customers (
    email TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    loyalty_points INTEGER,
    credit_limit NUMERIC,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE TRIGGER IF NOT EXISTS customers_touch AFTER UPDATE ON customers BEGIN
    UPDATE customers SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE email = NEW.email;
END;
