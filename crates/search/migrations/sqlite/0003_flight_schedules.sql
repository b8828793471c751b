-- (SQLite: dates are YYYY-MM-DD text, booleans 0/1.) Flights become schedules: one row per flight-leg record of an airline's schedule
-- (IATA SSIM chapter 7), its cabins, and the fares that price them. Seats exist as rows
-- only where something was sold, held, stop-sold or changed (sparse): everything else
-- is "the leg's capacity, nothing sold". The dated flights of the seeded catalog go;
-- `ota seed` (or an import) writes the schedules.

-- A flight-leg record: times are local at each station with the UTC variation that
-- holds over the whole period (a period crossing a change of clocks is split).
CREATE TABLE flight_legs (
    id                   INTEGER   PRIMARY KEY,
    carrier              text     NOT NULL,
    flight_number        INTEGER  NOT NULL CHECK (flight_number BETWEEN 1 AND 9999),
    suffix               text     NOT NULL DEFAULT '',
    itinerary_variation  INTEGER  NOT NULL,
    leg_sequence         INTEGER  NOT NULL,
    service_type         text     NOT NULL,
    origin               TEXT     NOT NULL,
    destination          TEXT     NOT NULL,
    period_from          TEXT     NOT NULL,     -- first flight date (date at the flight's origin)
    period_to            TEXT     NOT NULL,     -- last flight date
    days                 INTEGER  NOT NULL CHECK (days BETWEEN 1 AND 127),  -- bit 0 Monday … bit 6 Sunday
    frequency_rate       INTEGER  NOT NULL DEFAULT 1 CHECK (frequency_rate IN (1, 2)),
    departure_minute     INTEGER  NOT NULL CHECK (departure_minute BETWEEN 0 AND 1439),  -- local
    departure_day        INTEGER  NOT NULL,     -- days from the flight date to the local departure date
    departure_utc_offset INTEGER  NOT NULL,     -- minutes east of UTC
    arrival_minute       INTEGER  NOT NULL CHECK (arrival_minute BETWEEN 0 AND 1439),    -- local
    arrival_day          INTEGER  NOT NULL,     -- days from the flight date to the local arrival date
    arrival_utc_offset   INTEGER  NOT NULL,
    aircraft_type        text     NOT NULL,
    configuration        text     NOT NULL,
    source_line          INTEGER  NOT NULL,     -- line of the record in the file it came from
    import_id            INTEGER   NOT NULL
);
CREATE INDEX flight_legs_flight_idx ON flight_legs (carrier, flight_number, origin, period_from);
CREATE INDEX flight_legs_carrier_idx ON flight_legs (carrier, period_to);

CREATE TABLE leg_cabins (
    leg_id   INTEGER  NOT NULL REFERENCES flight_legs (id) ON DELETE CASCADE,
    cabin    text    NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    PRIMARY KEY (leg_id, cabin)
);

-- Published fares: the adult, child and infant fare of a carrier's route and cabin, in
-- minor units, valid for departures (local date at the origin) between two dates.
CREATE TABLE fares (
    id                    INTEGER   PRIMARY KEY,
    carrier               text     NOT NULL,
    origin                TEXT     NOT NULL,
    destination           TEXT     NOT NULL,
    cabin                 text     NOT NULL,
    adult                 INTEGER   NOT NULL CHECK (adult > 0),
    child                 INTEGER   NOT NULL CHECK (child >= 0),
    infant                INTEGER   NOT NULL CHECK (infant >= 0),
    currency              TEXT     NOT NULL,
    refundable            INTEGER  NOT NULL,
    refund_deadline_hours INTEGER  NOT NULL,
    change_fee            INTEGER,
    advance_purchase_days INTEGER  NOT NULL DEFAULT 0,
    valid_from            TEXT,
    valid_to              TEXT,
    import_id             INTEGER   NOT NULL
);
CREATE INDEX fares_route_idx ON fares (carrier, origin, destination, cabin);

-- Seats of one cabin of one dated leg, where anything happened to them. `flight_id`
-- packs (carrier, flight number, flight date, origin); the columns beside it spell it.
CREATE TABLE seat_inventory (
    flight_id     INTEGER   NOT NULL,
    cabin         text     NOT NULL,
    carrier       text     NOT NULL,
    flight_number INTEGER  NOT NULL,
    flight_date   TEXT     NOT NULL,
    origin        TEXT     NOT NULL,
    capacity      INTEGER  NOT NULL CHECK (capacity >= 0),
    sold          INTEGER  NOT NULL DEFAULT 0 CHECK (sold >= 0),
    held          INTEGER  NOT NULL DEFAULT 0 CHECK (held >= 0),
    stop_sell     INTEGER  NOT NULL DEFAULT 0,
    fare_amount   INTEGER   CHECK (fare_amount > 0),   -- the back office's adult fare, if set
    changed_at    INTEGER   NOT NULL DEFAULT 0,        -- ms since epoch of the last change
    PRIMARY KEY (flight_id, cabin),
    CONSTRAINT seat_inventory_capacity CHECK (sold + held <= capacity)
);
CREATE INDEX seat_inventory_changed_idx ON seat_inventory (changed_at);
CREATE INDEX seat_inventory_flight_idx ON seat_inventory (carrier, flight_date);

-- Every schedule or fare import: what it did, for operators and the job endpoint.
CREATE TABLE catalog_imports (
    id          INTEGER      PRIMARY KEY,
    status      text        NOT NULL,          -- running | done | failed
    source      text        NOT NULL,          -- file names or "seed"
    carriers    text        NOT NULL DEFAULT '',
    legs        INTEGER     NOT NULL DEFAULT 0,
    fares       INTEGER     NOT NULL DEFAULT 0,
    report      text        NOT NULL DEFAULT '{}',   -- JSON: affected dates and bookings, or the errors
    created_at  TEXT NOT NULL,
    finished_at TEXT
);

-- Bumped by every import: search pods reload their schedules when it moves.
ALTER TABLE catalog_meta ADD COLUMN schedule_version INTEGER NOT NULL DEFAULT 0;

DROP TABLE flight_cabins;
DROP TABLE flights;
