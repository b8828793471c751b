-- booking schema (postgres): created by the first migration of booking-service.
SELECT 1;
