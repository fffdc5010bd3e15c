-- The headcount lists compare: the latest researcher count, or the staff count where the
-- latest figure counts no researchers. Kept in step with the series by every write.
ALTER TABLE institutes ADD COLUMN headcount INTEGER;
UPDATE institutes SET headcount = COALESCE(latest_researchers, latest_staff);
CREATE INDEX institutes_headcount ON institutes (headcount, id);
CREATE INDEX institutes_created ON institutes (created_at, id);

-- Single-key sorts order by these expressions (missing values last in either direction), so a
-- sorted page and a keyset seek read an index instead of sorting every row.
CREATE INDEX institutes_founded_asc ON institutes ((COALESCE(founded, 2147483647)), id);
CREATE INDEX institutes_founded_desc ON institutes ((COALESCE(founded, -2147483648)), id);
CREATE INDEX institutes_headcount_asc ON institutes ((COALESCE(headcount, 2147483647)), id);
CREATE INDEX institutes_headcount_desc ON institutes ((COALESCE(headcount, -2147483648)), id);
CREATE INDEX institutes_budget_asc ON institutes ((COALESCE(comparable_budget_usd, 1e300)), id);
CREATE INDEX institutes_budget_desc ON institutes ((COALESCE(comparable_budget_usd, -1e300)), id);

-- Lets `total` be counted from the index alone for the usual filters.
CREATE INDEX institutes_filter_cover ON institutes (status, country, kind, founded, headcount, comparable_budget_usd, id);
