-- payment-service (its SQLite file): payment methods as provider tokens, payments,
-- refunds, the double-entry ledger and the idempotency keys of the internal API.
-- Ids are 16-byte UUID blobs, times RFC 3339 text, amounts integers.
-- No column ever holds a card number or a CVC: the provider keeps those behind its token.

CREATE TABLE payment_methods (
    id             BLOB        NOT NULL PRIMARY KEY,
    user_id        BLOB        NOT NULL,
    provider_token TEXT        NOT NULL CONSTRAINT payment_methods_token_key UNIQUE,
    brand          TEXT        NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover')),
    last4          TEXT        NOT NULL CHECK (length(last4) = 4),
    exp_month      INTEGER     NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year       INTEGER     NOT NULL,
    holder_name    TEXT        NOT NULL,
    created_at     TEXT        NOT NULL
);
CREATE INDEX payment_methods_user_idx ON payment_methods (user_id, created_at);

-- The sandbox provider's own records: which behaviour a token stands for. A real
-- provider keeps this on its side; the sandbox keeps it here so it survives restarts.
CREATE TABLE sandbox_tokens (
    token      TEXT        NOT NULL PRIMARY KEY,
    behaviour  TEXT        NOT NULL,
    created_at TEXT        NOT NULL
);

-- Amounts are integer minor units of `currency`; 0 <= refunded <= captured <= amount.
CREATE TABLE payments (
    id                 BLOB        NOT NULL PRIMARY KEY,
    idempotency_key    TEXT        NOT NULL CONSTRAINT payments_idempotency_key_key UNIQUE,
    user_id            BLOB        NOT NULL,
    payment_method_id  BLOB        NOT NULL REFERENCES payment_methods (id),
    booking_reference  TEXT        NOT NULL,
    status             TEXT        NOT NULL CHECK (status IN ('authorized', 'declined', 'captured', 'voided', 'partially_refunded', 'refunded')),
    currency           TEXT        NOT NULL,
    amount             INTEGER     NOT NULL CHECK (amount > 0),
    captured           INTEGER     NOT NULL DEFAULT 0,
    refunded           INTEGER     NOT NULL DEFAULT 0,
    decline_code       TEXT,
    provider_reference TEXT,
    created_at         TEXT        NOT NULL,
    updated_at         TEXT        NOT NULL,
    CHECK (captured >= 0 AND captured <= amount AND refunded >= 0 AND refunded <= captured)
);
CREATE INDEX payments_booking_reference_idx ON payments (booking_reference);
CREATE INDEX payments_user_idx ON payments (user_id);

-- One row per refund. A failed refund gives its amount back and frees its key for a retry.
CREATE TABLE refunds (
    id              BLOB        NOT NULL PRIMARY KEY,
    payment_id      BLOB        NOT NULL REFERENCES payments (id),
    idempotency_key TEXT        NOT NULL,
    amount          INTEGER     NOT NULL CHECK (amount > 0),
    currency        TEXT        NOT NULL,
    status          TEXT        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    created_at      TEXT        NOT NULL,
    updated_at      TEXT        NOT NULL
);
CREATE UNIQUE INDEX refunds_idempotency_key_key ON refunds (idempotency_key) WHERE status <> 'failed';
CREATE INDEX refunds_payment_idx ON refunds (payment_id);

-- Double entry: every movement is two rows of equal amount, one debit and one credit.
-- A balance is debits minus credits; over all accounts it is always zero.
CREATE TABLE ledger_entries (
    id         BLOB        NOT NULL PRIMARY KEY,
    payment_id BLOB        NOT NULL REFERENCES payments (id),
    account    TEXT        NOT NULL CHECK (account IN ('customer_card', 'merchant_revenue')),
    direction  TEXT        NOT NULL CHECK (direction IN ('debit', 'credit')),
    amount     INTEGER     NOT NULL CHECK (amount > 0),
    currency   TEXT        NOT NULL,
    created_at TEXT        NOT NULL
);
CREATE INDEX ledger_entries_payment_idx ON ledger_entries (payment_id);

-- The internal API's idempotency keys: the hash of the canonical request and, once the
-- first call finished, its answer. A key without an answer is leased to the call running
-- it until `locked_until` (a crashed call's key is taken over after that).
CREATE TABLE idempotency_keys (
    key          TEXT        NOT NULL PRIMARY KEY,
    request_hash BLOB        NOT NULL,
    status_code  INTEGER,
    response     TEXT,   -- JSON
    locked_until TEXT        NOT NULL,
    created_at   TEXT        NOT NULL,
    updated_at   TEXT        NOT NULL
);
