-- Hotel availability and rates become date ranges: one row per run of nights that share
-- their rooms for sale, nightly price and stop-sell, on the weekdays of `weekdays` (bit 0
-- Monday … bit 6 Sunday), as channel managers send them (split only where a change
-- splits them). The rows of one room type never cover the same night twice.
-- `room_nights` keeps a row only for a night where something was sold, held or changed
-- (sparse, like seat_inventory): its capacity, price and stop-sell override the range.
CREATE TABLE room_ranges (
    room_type_id bigint   NOT NULL REFERENCES room_types (id),
    first_night  date     NOT NULL,
    last_night   date     NOT NULL,
    weekdays     smallint NOT NULL DEFAULT 127 CHECK (weekdays BETWEEN 1 AND 127),
    capacity     integer  NOT NULL CHECK (capacity >= 0),
    price_amount bigint   NOT NULL CHECK (price_amount > 0),
    currency     char(3)  NOT NULL,
    stop_sell    boolean  NOT NULL DEFAULT false,
    PRIMARY KEY (room_type_id, first_night, weekdays),
    CHECK (first_night <= last_night)
);

-- Every stored night becomes a one-night range (exact; `ota seed --force` writes the
-- compact ranges), and only the nights with something sold or held keep their row.
INSERT INTO room_ranges (room_type_id, first_night, last_night, weekdays, capacity, price_amount, currency, stop_sell)
SELECT room_type_id, night, night, 127, capacity, price_amount, currency, stop_sell FROM room_nights;
DELETE FROM room_nights WHERE sold = 0 AND held = 0;
