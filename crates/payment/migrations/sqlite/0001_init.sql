-- payment schema (sqlite): created by the first migration of payment-service.
SELECT 1;
