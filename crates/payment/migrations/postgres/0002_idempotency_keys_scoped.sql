-- Idempotency keys take the shape every service shares (ota_platform::idempotency): a
-- scope beside the key (empty here: the internal API's keys are service-wide), the
-- resource a running request created, and expiry by created_at. Existing keys stay.
ALTER TABLE idempotency_keys ADD COLUMN scope text NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys ADD COLUMN resource_id uuid;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (scope, key);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
