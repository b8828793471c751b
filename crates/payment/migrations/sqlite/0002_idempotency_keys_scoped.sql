-- Idempotency keys take the shape every service shares (ota_platform::idempotency): a
-- scope beside the key (empty here: the internal API's keys are service-wide), the
-- resource a running request created, and expiry by created_at. Existing keys are
-- copied into the new table before the old one goes.
CREATE TABLE idempotency_keys_next (
    scope        TEXT    NOT NULL DEFAULT '',
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
INSERT INTO idempotency_keys_next (scope, key, request_hash, status_code, response, locked_until, created_at, updated_at)
SELECT '', key, request_hash, status_code, response, locked_until, created_at, updated_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_next RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
