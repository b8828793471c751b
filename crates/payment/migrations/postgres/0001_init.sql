-- payment schema (postgres): created by the first migration of payment-service.
SELECT 1;
