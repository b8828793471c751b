-- Suppliers: channel managers and hotels that send availability, restrictions and rates
-- (OpenTravel ARI) for their own hotels, authenticated by HTTP Basic with NAME:SECRET.
-- Only the SHA-256 of the secret is kept (the secret is 256 random bits, shown once by
-- `ota ops supplier create`).
CREATE TABLE suppliers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        text   NOT NULL UNIQUE,
    secret_hash text   NOT NULL,
    created_at  INTEGER NOT NULL
);

-- The hotels each supplier may change.
CREATE TABLE supplier_hotels (
    supplier_id INTEGER NOT NULL REFERENCES suppliers (id) ON DELETE CASCADE,
    hotel_id    INTEGER NOT NULL REFERENCES hotels (id),
    PRIMARY KEY (supplier_id, hotel_id)
);
