-- Lists, search, totals and aggregates are served by each process's read model (src/read/),
-- built from these rows and kept current by the change sequence. The full-text index, its
-- vocabulary and the indexes that steered the planner for list queries go: every write paid
-- for them, and nothing reads them any more.
DROP TRIGGER institutes_vocab ON institutes;
DROP FUNCTION institutes_vocab_add();
DROP TABLE institute_vocab;
ALTER TABLE institutes DROP COLUMN search_vector;
DROP INDEX institutes_acronym_key;
ALTER TABLE institutes DROP COLUMN search_text;
ALTER TABLE institutes DROP COLUMN acronym_key;

DROP INDEX institutes_founded_asc;
DROP INDEX institutes_founded_desc;
DROP INDEX institutes_headcount_asc;
DROP INDEX institutes_headcount_desc;
DROP INDEX institutes_budget_asc;
DROP INDEX institutes_budget_desc;
DROP INDEX institutes_filter_cover;
DROP INDEX institutes_country_figures;
DROP INDEX institutes_headcount;
DROP INDEX institutes_created;
DROP INDEX institutes_country;
DROP INDEX institutes_kind;
DROP INDEX institutes_status;
DROP INDEX institutes_founded;
DROP INDEX institutes_researchers;
DROP INDEX institutes_budget;
-- The command line's export walks institutes by name.
DROP INDEX institutes_sort_name;
CREATE INDEX institutes_sort_name ON institutes (sort_name, id);
