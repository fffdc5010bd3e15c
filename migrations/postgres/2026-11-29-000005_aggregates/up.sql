-- Country summaries read every active institute's latest figures from this index alone.
CREATE INDEX institutes_country_figures ON institutes (status, country, latest_researchers, latest_staff, comparable_budget_usd);

-- References to an institute compare like its id (byte order, "C"): a join or a correlated
-- probe between columns of different collations cannot use their indexes.
ALTER TABLE institute_sectors ALTER COLUMN institute_id TYPE TEXT COLLATE "C";
ALTER TABLE budgets ALTER COLUMN institute_id TYPE TEXT COLLATE "C";
ALTER TABLE headcounts ALTER COLUMN institute_id TYPE TEXT COLLATE "C";
ALTER TABLE institutes ALTER COLUMN parent_id TYPE TEXT COLLATE "C";
ALTER TABLE former_slugs ALTER COLUMN institute_id TYPE TEXT COLLATE "C";
