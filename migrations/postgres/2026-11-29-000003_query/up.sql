-- The headcount lists compare: the latest researcher count, or the staff count where the
-- latest figure counts no researchers. Kept in step with the series by every write.
ALTER TABLE institutes ADD COLUMN headcount INTEGER;
UPDATE institutes SET headcount = COALESCE(latest_researchers, latest_staff);
CREATE INDEX institutes_headcount ON institutes (headcount, id);
CREATE INDEX institutes_created ON institutes (created_at, id);
