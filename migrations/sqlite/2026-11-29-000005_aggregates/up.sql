-- Country summaries read every active institute's latest figures from this index alone.
CREATE INDEX institutes_country_figures ON institutes (status, country, latest_researchers, latest_staff, comparable_budget_usd);

-- Single-key sorts walk these indexes and test the filters on each entry. The filtered columns
-- ride along in each, so an entry that fails a filter is skipped without reading its row.
DROP INDEX institutes_sort_name;
CREATE INDEX institutes_sort_name ON institutes (sort_name, id, status, country, kind, headcount, founded, comparable_budget_usd);
DROP INDEX institutes_founded_asc;
CREATE INDEX institutes_founded_asc ON institutes ((COALESCE(founded, 2147483647)), id, status, country, kind, headcount, comparable_budget_usd);
DROP INDEX institutes_founded_desc;
CREATE INDEX institutes_founded_desc ON institutes ((COALESCE(founded, -2147483648)), id, status, country, kind, headcount, comparable_budget_usd);
DROP INDEX institutes_headcount_asc;
CREATE INDEX institutes_headcount_asc ON institutes ((COALESCE(headcount, 2147483647)), id, status, country, kind, founded, comparable_budget_usd);
DROP INDEX institutes_headcount_desc;
CREATE INDEX institutes_headcount_desc ON institutes ((COALESCE(headcount, -2147483648)), id, status, country, kind, founded, comparable_budget_usd);
DROP INDEX institutes_budget_asc;
CREATE INDEX institutes_budget_asc ON institutes ((COALESCE(comparable_budget_usd, 1e300)), id, status, country, kind, headcount, founded);
DROP INDEX institutes_budget_desc;
CREATE INDEX institutes_budget_desc ON institutes ((COALESCE(comparable_budget_usd, -1e300)), id, status, country, kind, headcount, founded);
