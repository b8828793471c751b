-- Checkout idempotency keys take the shape every service shares
-- (ota_platform::idempotency): the user's id as the key's scope, the stored answer as
-- status_code/response (NULL while running), the booking a running checkout created as
-- resource_id, a lease, and expiry by created_at. Existing keys are copied over (a
-- stored 5xx answer is dropped: such a key answers from its booking).
CREATE TABLE idempotency_keys_next (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status_code  integer,
    response     jsonb,
    resource_id  uuid,
    locked_until timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
INSERT INTO idempotency_keys_next (scope, key, request_hash, status_code, response, resource_id, locked_until, created_at, updated_at)
SELECT user_id::text, key, request_hash,
       CASE WHEN state = 'done' AND response_status < 500 THEN response_status END,
       CASE WHEN state = 'done' AND response_status < 500 THEN response_body END,
       booking_id, created_at, created_at, created_at
FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_next RENAME TO idempotency_keys;
ALTER TABLE idempotency_keys RENAME CONSTRAINT idempotency_keys_next_pkey TO idempotency_keys_pkey;
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
