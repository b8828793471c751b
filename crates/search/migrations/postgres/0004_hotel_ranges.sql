-- Hotel content the way channel managers address it, and availability, restrictions and
-- rates kept as date ranges on days of the week, as OpenTravel ARI messages send them
-- (`StatusApplicationControl Start`/`End`, both inclusive, `Mon`…`Sun`): split only where
-- a message splits them. `weekdays` has bit 0 for Monday … bit 6 for Sunday; the ranges
-- of one key never cover the same night twice. Nights are hotel-local dates.

-- The codes suppliers use: `HotelCode`, `InvTypeCode` (room type), `RatePlanCode`.
ALTER TABLE hotels ADD COLUMN code text;
UPDATE hotels SET code = 'H' || lpad(id::text, 6, '0');
ALTER TABLE hotels ALTER COLUMN code SET NOT NULL;
CREATE UNIQUE INDEX hotels_code_idx ON hotels (code);

ALTER TABLE room_types ADD COLUMN code text;
UPDATE room_types SET code = 'RT' || id::text;
ALTER TABLE room_types ALTER COLUMN code SET NOT NULL;
CREATE UNIQUE INDEX room_types_code_idx ON room_types (hotel_id, code);
-- When the ranges of a room type (or of its rate plans) last changed, in ms: search pods
-- reload the ranges of room types changed since their last look. Updating it first is
-- also the lock under which a room type's ranges are rewritten.
ALTER TABLE room_types ADD COLUMN ranges_changed_at bigint NOT NULL DEFAULT 0;
CREATE INDEX room_types_ranges_changed_idx ON room_types (ranges_changed_at);

-- What a hotel file (`ota catalog import --hotels`) describes besides codes: address,
-- position, amenities (a JSON array of names), description, and check-in and check-out
-- times (hotel-local HH:MM); the beds of a room type (a JSON array).
ALTER TABLE hotels ADD COLUMN address text NOT NULL DEFAULT '';
ALTER TABLE hotels ADD COLUMN postal_code text NOT NULL DEFAULT '';
ALTER TABLE hotels ADD COLUMN latitude double precision;
ALTER TABLE hotels ADD COLUMN longitude double precision;
ALTER TABLE hotels ADD COLUMN amenities text NOT NULL DEFAULT '[]';
ALTER TABLE hotels ADD COLUMN description text NOT NULL DEFAULT '';
ALTER TABLE hotels ADD COLUMN check_in_time text NOT NULL DEFAULT '15:00';
ALTER TABLE hotels ADD COLUMN check_out_time text NOT NULL DEFAULT '11:00';
ALTER TABLE room_types ADD COLUMN beds text NOT NULL DEFAULT '[]';

-- A hotel's rate plans: board, and whether (and until when) a stay cancels free of
-- charge: until `free_cancellation_days` days before check-in at 14:00 hotel time.
CREATE TABLE rate_plans (
    id                     bigint  PRIMARY KEY,
    hotel_id               bigint  NOT NULL REFERENCES hotels (id),
    code                   text    NOT NULL,
    name                   text    NOT NULL,
    board                  text    NOT NULL DEFAULT 'room_only'
        CHECK (board IN ('room_only', 'breakfast', 'half_board', 'full_board', 'all_inclusive')),
    refundable             boolean NOT NULL,
    free_cancellation_days integer CHECK (free_cancellation_days >= 0),
    UNIQUE (hotel_id, code)
);
INSERT INTO rate_plans (id, hotel_id, code, name, board, refundable, free_cancellation_days)
SELECT id * 2, id, 'FLEX', 'Flexible', 'room_only', true, 2 FROM hotels;
INSERT INTO rate_plans (id, hotel_id, code, name, board, refundable, free_cancellation_days)
SELECT id * 2 + 1, id, 'NRF', 'Non-refundable', 'room_only', false, NULL FROM hotels;

-- Allotment and stop-sell of a room type: `capacity` rooms for sale on a night nothing
-- was sold or held on yet (a `BookingLimit`).
CREATE TABLE room_ranges (
    room_type_id bigint   NOT NULL REFERENCES room_types (id),
    first_night  date     NOT NULL,
    last_night   date     NOT NULL,
    weekdays     smallint NOT NULL DEFAULT 127 CHECK (weekdays BETWEEN 1 AND 127),
    capacity     integer  NOT NULL CHECK (capacity >= 0),
    stop_sell    boolean  NOT NULL DEFAULT false,
    PRIMARY KEY (room_type_id, first_night, weekdays),
    CHECK (first_night <= last_night)
);

-- Restrictions of a room type's rate plan: stop-sell, closed to arrival or departure,
-- length of stay judged on the arrival night (`min_los`, `max_los`) and on every night
-- of the stay (`min_stay`, `max_stay`), in nights.
CREATE TABLE restriction_ranges (
    room_type_id        bigint   NOT NULL REFERENCES room_types (id),
    rate_plan_id        bigint   NOT NULL REFERENCES rate_plans (id),
    first_night         date     NOT NULL,
    last_night          date     NOT NULL,
    weekdays            smallint NOT NULL DEFAULT 127 CHECK (weekdays BETWEEN 1 AND 127),
    stop_sell           boolean  NOT NULL DEFAULT false,
    closed_to_arrival   boolean  NOT NULL DEFAULT false,
    closed_to_departure boolean  NOT NULL DEFAULT false,
    min_los             integer  CHECK (min_los > 0),
    max_los             integer  CHECK (max_los > 0),
    min_stay            integer  CHECK (min_stay > 0),
    max_stay            integer  CHECK (max_stay > 0),
    PRIMARY KEY (room_type_id, rate_plan_id, first_night, weekdays),
    CHECK (first_night <= last_night)
);

-- Nightly price of a room of a room type on a rate plan, minor units, after tax, for
-- `guests` guests in the room (0: any number of guests).
CREATE TABLE rate_ranges (
    room_type_id bigint   NOT NULL REFERENCES room_types (id),
    rate_plan_id bigint   NOT NULL REFERENCES rate_plans (id),
    guests       smallint NOT NULL DEFAULT 0 CHECK (guests >= 0),
    first_night  date     NOT NULL,
    last_night   date     NOT NULL,
    weekdays     smallint NOT NULL DEFAULT 127 CHECK (weekdays BETWEEN 1 AND 127),
    price_amount bigint   NOT NULL CHECK (price_amount > 0),
    currency     char(3)  NOT NULL,
    PRIMARY KEY (room_type_id, rate_plan_id, guests, first_night, weekdays),
    CHECK (first_night <= last_night)
);

-- Every stored night becomes one-night ranges (exact; `ota seed --force` writes compact
-- ranges): its rooms, its price on the flexible plan and 85 % of it (whole units) on the
-- non-refundable one. Only nights with something sold or held keep their row, which
-- then overrides the range's rooms and stop-sell.
INSERT INTO room_ranges (room_type_id, first_night, last_night, weekdays, capacity, stop_sell)
SELECT room_type_id, night, night, 127, capacity, stop_sell FROM room_nights;
INSERT INTO rate_ranges (room_type_id, rate_plan_id, first_night, last_night, price_amount, currency)
SELECT n.room_type_id, t.hotel_id * 2, n.night, n.night, n.price_amount, n.currency
  FROM room_nights n JOIN room_types t ON t.id = n.room_type_id;
INSERT INTO rate_ranges (room_type_id, rate_plan_id, first_night, last_night, price_amount, currency)
SELECT n.room_type_id, t.hotel_id * 2 + 1, n.night, n.night, n.price_amount * 85 / 100 / 100 * 100, n.currency
  FROM room_nights n JOIN room_types t ON t.id = n.room_type_id
 WHERE n.price_amount * 85 / 100 / 100 * 100 > 0;
DELETE FROM room_nights WHERE sold = 0 AND held = 0;
ALTER TABLE room_nights DROP COLUMN price_amount;
ALTER TABLE room_nights DROP COLUMN currency;
