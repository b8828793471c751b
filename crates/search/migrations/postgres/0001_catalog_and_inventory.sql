-- search schema: the catalog (airports, carriers, flights, hotels) and the inventory
-- (seats and rooms, sold and held) with the holds that reserve it.

CREATE TABLE catalog_meta (
    id          smallint    PRIMARY KEY CHECK (id = 1),
    state       text        NOT NULL,          -- seeding | ready
    size        text        NOT NULL,
    first_day   date        NOT NULL,
    days        integer     NOT NULL,
    seeded_at   timestamptz NOT NULL
);

CREATE TABLE airports (
    iata      char(3)          PRIMARY KEY,
    name      text             NOT NULL,
    city      text             NOT NULL,
    country   char(2)          NOT NULL,
    latitude  double precision NOT NULL,
    longitude double precision NOT NULL,
    time_zone text             NOT NULL,
    metro     text,
    rank      integer          NOT NULL
);

CREATE TABLE carriers (
    code text PRIMARY KEY,
    name text NOT NULL
);

-- A dated flight; times are instants, shown in each airport's zone.
CREATE TABLE flights (
    id               bigint      PRIMARY KEY,
    carrier          text        NOT NULL REFERENCES carriers (code),
    flight_number    integer     NOT NULL,
    origin           char(3)     NOT NULL REFERENCES airports (iata),
    destination      char(3)     NOT NULL REFERENCES airports (iata),
    departure_date   date        NOT NULL,     -- local date at the origin
    departure_at     timestamptz NOT NULL,
    arrival_at       timestamptz NOT NULL,
    UNIQUE (carrier, flight_number, departure_date)
);
CREATE INDEX flights_route_idx ON flights (origin, departure_date);

-- Seats per cabin: sold + held never exceeds capacity.
CREATE TABLE flight_cabins (
    flight_id   bigint  NOT NULL REFERENCES flights (id),
    cabin       text    NOT NULL,
    capacity    integer NOT NULL CHECK (capacity >= 0),
    sold        integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
    held        integer NOT NULL DEFAULT 0 CHECK (held >= 0),
    fare_amount bigint  NOT NULL CHECK (fare_amount > 0),
    currency    char(3) NOT NULL,
    refundable  boolean NOT NULL,
    changed_at  bigint  NOT NULL DEFAULT 0,    -- ms since epoch of the last inventory change
    PRIMARY KEY (flight_id, cabin),
    CONSTRAINT flight_cabins_capacity CHECK (sold + held <= capacity)
);
CREATE INDEX flight_cabins_changed_idx ON flight_cabins (changed_at);

CREATE TABLE hotels (
    id        bigint   PRIMARY KEY,
    name      text     NOT NULL,
    city      text     NOT NULL,
    country   char(2)  NOT NULL,
    airport   char(3)  NOT NULL REFERENCES airports (iata),
    stars     smallint NOT NULL CHECK (stars BETWEEN 1 AND 5),
    time_zone text     NOT NULL
);
CREATE INDEX hotels_city_idx ON hotels (lower(city));

CREATE TABLE room_types (
    id         bigint  PRIMARY KEY,
    hotel_id   bigint  NOT NULL REFERENCES hotels (id),
    name       text    NOT NULL,
    max_guests integer NOT NULL CHECK (max_guests > 0)
);

-- Rooms per night: sold + held never exceeds capacity. The price is the flexible
-- (refundable) rate; the non-refundable rate is derived from it.
CREATE TABLE room_nights (
    room_type_id bigint  NOT NULL REFERENCES room_types (id),
    night        date    NOT NULL,
    capacity     integer NOT NULL CHECK (capacity >= 0),
    sold         integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
    held         integer NOT NULL DEFAULT 0 CHECK (held >= 0),
    price_amount bigint  NOT NULL CHECK (price_amount > 0),
    currency     char(3) NOT NULL,
    changed_at   bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (room_type_id, night),
    CONSTRAINT room_nights_capacity CHECK (sold + held <= capacity)
);
CREATE INDEX room_nights_changed_idx ON room_nights (changed_at);

-- One hold per booking: all of its items, held together until committed or released.
CREATE TABLE holds (
    booking_id uuid        PRIMARY KEY,
    status     text        NOT NULL,          -- held | committed | released
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX holds_expiry_idx ON holds (expires_at) WHERE status = 'held';

CREATE TABLE hold_items (
    booking_id   uuid    NOT NULL REFERENCES holds (booking_id),
    position     integer NOT NULL,
    flight_id    bigint,
    cabin        text,
    room_type_id bigint,
    night        date,
    quantity     integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (booking_id, position)
);
