CREATE TABLE IF NOT EXISTS orders (
    order_no TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    customer_name TEXT,
    total NUMERIC NOT NULL,
    line_count INTEGER NOT NULL
);
