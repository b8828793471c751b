-- booking schema (SQLite): bookings with their items, travellers and status history,
-- and the idempotency keys of checkouts. Ids are 16-byte blobs, instants RFC 3339 text.

CREATE TABLE bookings (
    id                BLOB    NOT NULL PRIMARY KEY,
    reference         TEXT    NOT NULL CONSTRAINT bookings_reference_key UNIQUE,
    user_id           BLOB    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('PENDING', 'HELD', 'AUTHORIZED', 'CONFIRMED', 'FAILED', 'CANCELLING', 'CANCELLED')),
    total_amount      INTEGER NOT NULL CHECK (total_amount >= 0),
    currency          TEXT    NOT NULL,
    payment_method_id TEXT    NOT NULL,
    payment_id        TEXT,
    payment_status    TEXT,
    failure_reason    TEXT,
    refund_amount     INTEGER,
    contact_email     TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    -- Optimistic lock: every transition and every recovery claim bumps it, so two
    -- workers never both advance one booking.
    version           INTEGER NOT NULL DEFAULT 0,
    -- ms since the epoch when the current saga step started (recovery's clock).
    step_started_ms   INTEGER NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX bookings_user_idx ON bookings (user_id, id DESC);
CREATE INDEX bookings_in_flight_idx ON bookings (step_started_ms)
    WHERE status IN ('PENDING', 'HELD', 'AUTHORIZED', 'CANCELLING');

CREATE TABLE booking_items (
    booking_id   BLOB    NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    offer_id     TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('flight', 'hotel')),
    total_amount INTEGER NOT NULL CHECK (total_amount >= 0),
    currency     TEXT    NOT NULL,
    refundable   BOOLEAN NOT NULL,
    -- Until when cancelling refunds this item (departure - 24 h, or the hotel's free
    -- cancellation deadline); null when it never does.
    refund_until TEXT,
    starts_at    TEXT,
    passengers   INTEGER,
    summary      TEXT    NOT NULL,
    PRIMARY KEY (booking_id, position)
);

CREATE TABLE travellers (
    booking_id    BLOB    NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    first_name    TEXT    NOT NULL,
    last_name     TEXT    NOT NULL,
    date_of_birth TEXT    NOT NULL,
    PRIMARY KEY (booking_id, position)
);

CREATE TABLE booking_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    booking_id BLOB    NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    status     TEXT    NOT NULL,
    note       TEXT,
    at         TEXT    NOT NULL
);
CREATE INDEX booking_events_booking_idx ON booking_events (booking_id, id);

CREATE TABLE idempotency_keys (
    user_id         BLOB    NOT NULL,
    key             TEXT    NOT NULL,
    request_hash    BLOB    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('in_progress', 'done')),
    booking_id      BLOB,
    response_status INTEGER,
    response_body   TEXT,
    created_at      TEXT    NOT NULL,
    updated_ms      INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);
