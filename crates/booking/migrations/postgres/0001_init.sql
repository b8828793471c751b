-- booking schema (PostgreSQL): bookings with their items, travellers and status history,
-- and the idempotency keys of checkouts.

CREATE TABLE bookings (
    id                uuid        PRIMARY KEY,
    reference         text        NOT NULL CONSTRAINT bookings_reference_key UNIQUE,
    user_id           uuid        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('PENDING', 'HELD', 'AUTHORIZED', 'CONFIRMED', 'FAILED', 'CANCELLING', 'CANCELLED')),
    total_amount      bigint      NOT NULL CHECK (total_amount >= 0),
    currency          text        NOT NULL,
    payment_method_id text        NOT NULL,
    payment_id        text,
    payment_status    text,
    failure_reason    text,
    refund_amount     bigint,
    contact_email     text        NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    -- Optimistic lock: every transition and every recovery claim bumps it, so two
    -- workers never both advance one booking.
    version           bigint      NOT NULL DEFAULT 0,
    -- ms since the epoch when the current saga step started (recovery's clock).
    step_started_ms   bigint      NOT NULL,
    attempts          integer     NOT NULL DEFAULT 0
);
CREATE INDEX bookings_user_idx ON bookings (user_id, id DESC);
CREATE INDEX bookings_in_flight_idx ON bookings (step_started_ms)
    WHERE status IN ('PENDING', 'HELD', 'AUTHORIZED', 'CANCELLING');

CREATE TABLE booking_items (
    booking_id   uuid        NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    position     integer     NOT NULL,
    offer_id     text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('flight', 'hotel')),
    total_amount bigint      NOT NULL CHECK (total_amount >= 0),
    currency     text        NOT NULL,
    refundable   boolean     NOT NULL,
    -- Until when cancelling refunds this item (departure - 24 h, or the hotel's free
    -- cancellation deadline); null when it never does.
    refund_until timestamptz,
    starts_at    timestamptz,
    passengers   integer,
    summary      text        NOT NULL,
    PRIMARY KEY (booking_id, position)
);

CREATE TABLE travellers (
    booking_id    uuid    NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    position      integer NOT NULL,
    first_name    text    NOT NULL,
    last_name     text    NOT NULL,
    date_of_birth date    NOT NULL,
    PRIMARY KEY (booking_id, position)
);

CREATE TABLE booking_events (
    id         bigserial   PRIMARY KEY,
    booking_id uuid        NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    status     text        NOT NULL,
    note       text,
    at         timestamptz NOT NULL
);
CREATE INDEX booking_events_booking_idx ON booking_events (booking_id, id);

CREATE TABLE idempotency_keys (
    user_id         uuid        NOT NULL,
    key             text        NOT NULL,
    request_hash    bytea       NOT NULL,
    state           text        NOT NULL CHECK (state IN ('in_progress', 'done')),
    booking_id      uuid,
    response_status integer,
    response_body   jsonb,
    created_at      timestamptz NOT NULL,
    updated_ms      bigint      NOT NULL,
    PRIMARY KEY (user_id, key)
);
