-- payment-service (payment schema): payment methods as provider tokens, payments, refunds,
-- the double-entry ledger and the idempotency keys of the internal API.
-- No column ever holds a card number or a CVC: the provider keeps those behind its token.

CREATE TABLE payment_methods (
    id             uuid        PRIMARY KEY,
    user_id        uuid        NOT NULL,
    provider_token text        NOT NULL CONSTRAINT payment_methods_token_key UNIQUE,
    brand          text        NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover')),
    last4          text        NOT NULL CHECK (length(last4) = 4),
    exp_month      integer     NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year       integer     NOT NULL,
    holder_name    text        NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE INDEX payment_methods_user_idx ON payment_methods (user_id, created_at);

-- The sandbox provider's own records: which behaviour a token stands for. A real
-- provider keeps this on its side; the sandbox keeps it here so it survives restarts.
CREATE TABLE sandbox_tokens (
    token      text        PRIMARY KEY,
    behaviour  text        NOT NULL,
    created_at timestamptz NOT NULL
);

-- Amounts are integer minor units of `currency`; 0 <= refunded <= captured <= amount.
CREATE TABLE payments (
    id                 uuid        PRIMARY KEY,
    idempotency_key    text        NOT NULL CONSTRAINT payments_idempotency_key_key UNIQUE,
    user_id            uuid        NOT NULL,
    payment_method_id  uuid        NOT NULL REFERENCES payment_methods (id),
    booking_reference  text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('authorized', 'declined', 'captured', 'voided', 'partially_refunded', 'refunded')),
    currency           text        NOT NULL,
    amount             bigint      NOT NULL CHECK (amount > 0),
    captured           bigint      NOT NULL DEFAULT 0,
    refunded           bigint      NOT NULL DEFAULT 0,
    decline_code       text,
    provider_reference text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CHECK (captured >= 0 AND captured <= amount AND refunded >= 0 AND refunded <= captured)
);
CREATE INDEX payments_booking_reference_idx ON payments (booking_reference);
CREATE INDEX payments_user_idx ON payments (user_id);

-- One row per refund. A failed refund gives its amount back and frees its key for a retry.
CREATE TABLE refunds (
    id              uuid        PRIMARY KEY,
    payment_id      uuid        NOT NULL REFERENCES payments (id),
    idempotency_key text        NOT NULL,
    amount          bigint      NOT NULL CHECK (amount > 0),
    currency        text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX refunds_idempotency_key_key ON refunds (idempotency_key) WHERE status <> 'failed';
CREATE INDEX refunds_payment_idx ON refunds (payment_id);

-- Double entry: every movement is two rows of equal amount, one debit and one credit.
-- A balance is debits minus credits; over all accounts it is always zero.
CREATE TABLE ledger_entries (
    id         uuid        PRIMARY KEY,
    payment_id uuid        NOT NULL REFERENCES payments (id),
    account    text        NOT NULL CHECK (account IN ('customer_card', 'merchant_revenue')),
    direction  text        NOT NULL CHECK (direction IN ('debit', 'credit')),
    amount     bigint      NOT NULL CHECK (amount > 0),
    currency   text        NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX ledger_entries_payment_idx ON ledger_entries (payment_id);

-- The internal API's idempotency keys: the hash of the canonical request and, once the
-- first call finished, its answer. A key without an answer is leased to the call running
-- it until `locked_until` (a crashed call's key is taken over after that).
CREATE TABLE idempotency_keys (
    key          text        PRIMARY KEY,
    request_hash bytea       NOT NULL,
    status_code  integer,
    response     jsonb,
    locked_until timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
