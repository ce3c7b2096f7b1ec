-- The CRM: the source of truth of customers. updated_at moves on every change (the hub polls by it).
CREATE TABLE IF NOT EXISTS contacts (
    email TEXT PRIMARY KEY,
    full_name TEXT NOT NULL,
    points INTEGER,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE TRIGGER IF NOT EXISTS contacts_touch AFTER UPDATE ON contacts BEGIN
    UPDATE contacts SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE email = NEW.email;
END;
