-- What each item is, as its offer described it at checkout (JSON of
-- ota_contract::booking::ItemItinerary: a flight's slices and segments, or a hotel stay):
-- the booking page, e-mails and calendar files show it. Null for older bookings.
ALTER TABLE booking_items ADD COLUMN itinerary TEXT;
