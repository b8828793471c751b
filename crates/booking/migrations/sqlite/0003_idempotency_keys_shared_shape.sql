-- Checkout idempotency keys take the shape every service shares
-- (ota_platform::idempotency): the user's id as the key's scope (its hyphenated text),
-- the stored answer as status_code/response (NULL while running), the booking a running
-- checkout created as resource_id, a lease, and expiry by created_at. Existing keys are
-- copied over before the old table goes (a stored 5xx answer is dropped: such a key
-- answers from its booking).
CREATE TABLE idempotency_keys_next (
    scope        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash BLOB    NOT NULL,
    status_code  INTEGER,
    response     TEXT,   -- JSON
    resource_id  BLOB,
    locked_until TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (scope, key)
);
INSERT INTO idempotency_keys_next (scope, key, request_hash, status_code, response, resource_id, locked_until, created_at, updated_at)
SELECT lower(substr(hex(user_id), 1, 8) || '-' || substr(hex(user_id), 9, 4) || '-' ||
             substr(hex(user_id), 13, 4) || '-' || substr(hex(user_id), 17, 4) || '-' ||
             substr(hex(user_id), 21, 12)),
       key, request_hash,
       CASE WHEN state = 'done' AND response_status < 500 THEN response_status END,
       CASE WHEN state = 'done' AND response_status < 500 THEN response_body END,
       booking_id, created_at, created_at, created_at
FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_next RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
