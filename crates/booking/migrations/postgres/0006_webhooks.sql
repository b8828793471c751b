-- Webhook endpoints: an account's URL that receives the events about its own bookings,
-- signed with the endpoint's secret (Standard Webhooks). `channel` ('webhook:' and the
-- id's hex digits) names its rows in outbox_deliveries; `events` lists the event types
-- it receives between commas (',booking.confirmed,refund.succeeded,'), or ',*,' for all.
-- During a rotation the previous secret also signs until `previous_secret_until_ms`.
-- A deleted endpoint keeps its row (its delivery log) but receives nothing.
CREATE TABLE webhook_endpoints (
    id                       uuid          PRIMARY KEY,
    user_id                  uuid          NOT NULL,
    channel                  text        NOT NULL UNIQUE,
    url                      text        NOT NULL,
    description              text        NOT NULL DEFAULT '',
    events                   text        NOT NULL,
    secret                   text        NOT NULL,
    previous_secret          text,
    previous_secret_until_ms bigint,
    created_at               timestamptz NOT NULL,
    deleted_at               timestamptz
);
CREATE INDEX webhook_endpoints_user_idx ON webhook_endpoints (user_id);

-- How often a traveller asked for this delivery again ("resend confirmation"): each
-- resend is a new e-mail with its own Message-ID.
ALTER TABLE outbox_deliveries ADD COLUMN resends integer NOT NULL DEFAULT 0;

-- The card a booking was paid with, as payment-service's authorisation named it (brand
-- and last four digits; never the number), for the confirmation.
ALTER TABLE bookings ADD COLUMN card_brand text;
ALTER TABLE bookings ADD COLUMN card_last4 text;

-- A schedule change's event says which flight changed and how (JSON of
-- ota_contract::booking::ScheduleChangeView) and which of search-service's changes it
-- came from (`source_seq`): one event per booking and change, however many dispatchers
-- read them.
ALTER TABLE outbox_events ADD COLUMN detail text;
ALTER TABLE outbox_events ADD COLUMN source_seq bigint;
CREATE UNIQUE INDEX outbox_events_one_per_change ON outbox_events (booking_id, source_seq) WHERE source_seq IS NOT NULL;

-- How far the dispatchers have read a feed (`schedule_changes`: search-service's seq).
CREATE TABLE outbox_cursors (
    name  text   PRIMARY KEY,
    value bigint NOT NULL
);
