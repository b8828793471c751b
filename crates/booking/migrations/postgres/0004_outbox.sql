-- Transactional outbox: every booking state change someone outside must hear about
-- writes an event here in the same transaction as the change. An event records what
-- changed (the booking's status, payment, failure and refund at that moment); the
-- booking's items and travellers never change after checkout, so the event's document
-- is rendered from both, the same bytes on every attempt.
CREATE TABLE outbox_events (
    id             uuid        PRIMARY KEY,
    kind           text        NOT NULL CHECK (kind IN ('booking.confirmed', 'booking.failed', 'booking.cancelled', 'refund.succeeded', 'booking.schedule_changed', 'booking.reminder')),
    booking_id     uuid        NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    user_id        uuid        NOT NULL,
    status         text        NOT NULL,
    payment_status text,
    failure_reason text,
    refund_amount  bigint,
    created_at     timestamptz NOT NULL
);
CREATE INDEX outbox_events_booking_idx ON outbox_events (booking_id);
-- One reminder per booking, however many dispatchers look at once.
CREATE UNIQUE INDEX outbox_events_one_reminder ON outbox_events (booking_id) WHERE kind = 'booking.reminder';

-- One row per event and channel ('email'; webhooks add theirs): pending until delivered
-- or, after the retry window, dead. `due_ms` is when the next attempt may start; a
-- dispatcher that takes a row moves it past the attempt's lease, so a dispatcher that
-- dies mid-attempt leaves the row to be retried, never lost.
CREATE TABLE outbox_deliveries (
    event_id     uuid        NOT NULL REFERENCES outbox_events (id) ON DELETE CASCADE,
    channel      text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts     integer     NOT NULL DEFAULT 0,
    due_ms       bigint      NOT NULL,
    created_ms   bigint      NOT NULL,
    last_error   text,
    delivered_at timestamptz,
    PRIMARY KEY (event_id, channel)
);
CREATE INDEX outbox_deliveries_due_idx ON outbox_deliveries (due_ms) WHERE state = 'pending';

-- Every attempt, for the delivery log.
CREATE TABLE outbox_attempts (
    id       bigserial   PRIMARY KEY,
    event_id uuid        NOT NULL REFERENCES outbox_events (id) ON DELETE CASCADE,
    channel  text        NOT NULL,
    attempt  integer     NOT NULL,
    at       timestamptz NOT NULL,
    ok       boolean     NOT NULL,
    detail   text
);
CREATE INDEX outbox_attempts_event_idx ON outbox_attempts (event_id, id);
