-- A school copied in from a data directory (`jigsaw move-store`): where from,
-- when, and its state as the move left it, so a re-run can tell whether the
-- school has been used on PostgreSQL since (and then never overwrites it).
ALTER TABLE schools ADD COLUMN moved_in jsonb;
