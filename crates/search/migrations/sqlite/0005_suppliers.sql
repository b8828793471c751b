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

-- Hotel stays sold, kept for the hotel's supplier as OpenTravel reservations: written
-- with the hold (`held`, never sent), `confirmed` when the hold is committed,
-- `cancelled` when sold rooms are given back, `released` when a hold ends unsold (never
-- sent). `version` counts the changes a supplier must learn of; a supplier's
-- OTA_NotifReportRQ acknowledges the version it was sent (`acked_version`), and a pull
-- (OTA_ReadRQ) sends every reservation whose version is not acknowledged yet.
CREATE TABLE hotel_reservations (
    booking_id     BLOB     NOT NULL,
    position       integer  NOT NULL,
    reference      text,
    hotel_id       INTEGER   NOT NULL REFERENCES hotels (id),
    room_type_id   INTEGER   NOT NULL REFERENCES room_types (id),
    rate_plan_code text     NOT NULL,
    check_in       TEXT     NOT NULL,
    nights         integer  NOT NULL CHECK (nights > 0),
    rooms          integer  NOT NULL CHECK (rooms > 0),
    guests         integer  NOT NULL CHECK (guests > 0),
    total_amount   INTEGER   NOT NULL,
    currency       TEXT     NOT NULL,
    status         text     NOT NULL CHECK (status IN ('held', 'confirmed', 'cancelled', 'released')),
    version        integer  NOT NULL DEFAULT 0,
    acked_version  integer  NOT NULL DEFAULT 0,
    created_at     INTEGER   NOT NULL,
    changed_at     INTEGER   NOT NULL,
    PRIMARY KEY (booking_id, position)
);
CREATE INDEX hotel_reservations_unsent_idx ON hotel_reservations (hotel_id) WHERE version > acked_version;
CREATE INDEX hotel_reservations_reference_idx ON hotel_reservations (reference);
