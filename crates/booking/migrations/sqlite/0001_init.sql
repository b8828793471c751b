-- booking schema (sqlite): created by the first migration of booking-service.
SELECT 1;
