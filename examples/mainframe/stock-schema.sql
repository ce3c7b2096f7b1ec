CREATE TABLE IF NOT EXISTS stock (
    item_no     TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    warehouse   TEXT NOT NULL,
    qty         INTEGER NOT NULL,
    unit_price  DECIMAL(9, 2) NOT NULL,
    counted_on  TEXT NOT NULL,
    active      BOOLEAN NOT NULL
);
