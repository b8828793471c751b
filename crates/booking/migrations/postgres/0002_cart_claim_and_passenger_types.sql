-- A checkout claims its cart: one cart (by cart-service's cart_id) is held by at most one
-- booking that has not FAILED. A FAILED booking gives the cart back; a CONFIRMED one
-- uses it up (cart-service gives the cart a new id once the booking is confirmed).
ALTER TABLE bookings ADD COLUMN cart_id uuid;
CREATE UNIQUE INDEX bookings_cart_claim_key ON bookings (cart_id)
    WHERE cart_id IS NOT NULL AND status <> 'FAILED';

-- Passenger types: a flight item's travellers by type (`passengers` keeps the adults),
-- a hotel item's rooms, and each traveller's type on the day of the first departure.
ALTER TABLE booking_items ADD COLUMN children integer;
ALTER TABLE booking_items ADD COLUMN infants integer;
ALTER TABLE booking_items ADD COLUMN rooms integer;
ALTER TABLE travellers ADD COLUMN passenger_type text
    CHECK (passenger_type IN ('adult', 'child', 'infant'));
