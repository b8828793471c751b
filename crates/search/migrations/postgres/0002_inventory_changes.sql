-- Inventory changes that reach search (capacity, price, stop-sell): a stop-sold row
-- takes no further holds, and every such change bumps the catalog generation that the
-- search pods' answer-cache keys carry.

ALTER TABLE flight_cabins ADD COLUMN stop_sell boolean NOT NULL DEFAULT false;
ALTER TABLE room_nights ADD COLUMN stop_sell boolean NOT NULL DEFAULT false;
ALTER TABLE catalog_meta ADD COLUMN generation bigint NOT NULL DEFAULT 0;
