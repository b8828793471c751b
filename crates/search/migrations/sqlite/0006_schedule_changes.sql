-- Every booking a schedule import changed a flight of (cancelled, retimed, oversold),
-- written in the import's transaction; booking-service reads them in `seq` order
-- (`GET /internal/v1/schedule-changes?after=`) and tells the travellers
-- (`booking.schedule_changed`).
CREATE TABLE schedule_changes (
    seq         INTEGER     PRIMARY KEY AUTOINCREMENT,
    booking_id  BLOB        NOT NULL,
    flight      text        NOT NULL,
    flight_date TEXT        NOT NULL,
    origin      text        NOT NULL,
    change      text        NOT NULL CHECK (change IN ('cancelled', 'retimed', 'oversold')),
    import_id   INTEGER     NOT NULL,
    created_at  TEXT        NOT NULL
);
