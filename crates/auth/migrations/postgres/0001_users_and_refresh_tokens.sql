-- Users and their refresh-token families (auth schema).
CREATE TABLE users (
    id               uuid        PRIMARY KEY,
    email            text        NOT NULL,
    email_normalized text        NOT NULL CONSTRAINT users_email_key UNIQUE,
    name             text        NOT NULL,
    password_hash    text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Refresh tokens are opaque to clients; only their SHA-256 is kept.
CREATE TABLE refresh_tokens (
    token_hash bytea       PRIMARY KEY,
    family_id  uuid        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    spent_at   timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);
