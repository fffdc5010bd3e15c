DROP INDEX institutes_created;
DROP INDEX institutes_headcount;
ALTER TABLE institutes DROP COLUMN headcount;
