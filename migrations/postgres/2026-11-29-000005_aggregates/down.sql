ALTER TABLE former_slugs ALTER COLUMN institute_id TYPE TEXT COLLATE "default";
ALTER TABLE institutes ALTER COLUMN parent_id TYPE TEXT COLLATE "default";
ALTER TABLE headcounts ALTER COLUMN institute_id TYPE TEXT COLLATE "default";
ALTER TABLE budgets ALTER COLUMN institute_id TYPE TEXT COLLATE "default";
ALTER TABLE institute_sectors ALTER COLUMN institute_id TYPE TEXT COLLATE "default";
DROP INDEX institutes_country_figures;
