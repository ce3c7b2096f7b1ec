-- The ERP's tables in the B2B example (SQLite).
CREATE TABLE IF NOT EXISTS orders (
  po_number TEXT PRIMARY KEY,
  partner TEXT NOT NULL,
  order_date TEXT NOT NULL,
  ship_to TEXT,
  line_count INTEGER NOT NULL,
  total NUMERIC NOT NULL,
  lines TEXT NOT NULL              -- JSON: [{line, sku, qty, unit, price}]
);
CREATE TABLE IF NOT EXISTS shipments (
  id INTEGER PRIMARY KEY,          -- the warehouse adds a row when an order leaves
  shipment_no TEXT NOT NULL,
  po_number TEXT NOT NULL REFERENCES orders (po_number),
  ship_date TEXT NOT NULL,         -- CCYYMMDD
  ship_time TEXT NOT NULL,         -- HHMM
  carrier TEXT NOT NULL,
  bill_of_lading TEXT NOT NULL,
  cartons INTEGER NOT NULL,
  weight NUMERIC NOT NULL,
  invoice_no TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS partner_acks (
  group_control TEXT PRIMARY KEY,  -- the GS06 of ours they acknowledge
  code TEXT,
  status TEXT,                     -- A, E, P or R
  interchange TEXT
);
