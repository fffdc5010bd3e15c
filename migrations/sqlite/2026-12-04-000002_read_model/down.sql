-- Back to the schema before the read model: the planner indexes, the full-text index, its
-- vocabulary and their triggers. search_text comes back empty: the previous version fills
-- it as it writes each institute, so search finds an institute again once it is written.
DROP INDEX institutes_sort_name;
ALTER TABLE institutes ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE institutes ADD COLUMN acronym_key TEXT;
CREATE VIRTUAL TABLE institute_fts USING fts5 (
    search_text,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE institute_search (
    docid INTEGER PRIMARY KEY,
    institute_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE institute_vocab USING fts5vocab (institute_fts, 'row');
INSERT INTO institute_search (institute_id) SELECT id FROM institutes;
INSERT INTO institute_fts (rowid, search_text) SELECT s.docid, i.search_text FROM institute_search s JOIN institutes i ON i.id = s.institute_id;
CREATE INDEX institutes_acronym_key ON institutes (acronym_key);
CREATE INDEX institutes_budget ON institutes (comparable_budget_usd, id);
CREATE INDEX institutes_budget_asc ON institutes ((COALESCE(comparable_budget_usd, 1e300)), id, status, country, kind, headcount, founded);
CREATE INDEX institutes_budget_desc ON institutes ((COALESCE(comparable_budget_usd, -1e300)), id, status, country, kind, headcount, founded);
CREATE INDEX institutes_country ON institutes (country, sort_name, id);
CREATE INDEX institutes_country_figures ON institutes (status, country, latest_researchers, latest_staff, comparable_budget_usd);
CREATE INDEX institutes_created ON institutes (created_at, id);
CREATE INDEX institutes_filter_cover ON institutes (status, country, kind, founded, headcount, comparable_budget_usd, id);
CREATE INDEX institutes_founded ON institutes (founded, id);
CREATE INDEX institutes_founded_asc ON institutes ((COALESCE(founded, 2147483647)), id, status, country, kind, headcount, comparable_budget_usd);
CREATE INDEX institutes_founded_desc ON institutes ((COALESCE(founded, -2147483648)), id, status, country, kind, headcount, comparable_budget_usd);
CREATE INDEX institutes_headcount ON institutes (headcount, id);
CREATE INDEX institutes_headcount_asc ON institutes ((COALESCE(headcount, 2147483647)), id, status, country, kind, founded, comparable_budget_usd);
CREATE INDEX institutes_headcount_desc ON institutes ((COALESCE(headcount, -2147483648)), id, status, country, kind, founded, comparable_budget_usd);
CREATE INDEX institutes_kind ON institutes (kind, sort_name, id);
CREATE INDEX institutes_researchers ON institutes (latest_researchers, id);
CREATE INDEX institutes_sort_name ON institutes (sort_name, id, status, country, kind, headcount, founded, comparable_budget_usd);
CREATE INDEX institutes_status ON institutes (status, sort_name, id);
CREATE TRIGGER institutes_search_delete AFTER DELETE ON institutes BEGIN
    DELETE FROM institute_fts
        WHERE rowid = (SELECT docid FROM institute_search WHERE institute_id = old.id);
    DELETE FROM institute_search WHERE institute_id = old.id;
END;
CREATE TRIGGER institutes_search_insert AFTER INSERT ON institutes BEGIN
    INSERT INTO institute_search (institute_id) VALUES (new.id);
    INSERT INTO institute_fts (rowid, search_text)
        VALUES ((SELECT docid FROM institute_search WHERE institute_id = new.id), new.search_text);
END;
CREATE TRIGGER institutes_search_update AFTER UPDATE OF search_text ON institutes BEGIN
    UPDATE institute_fts SET search_text = new.search_text
        WHERE rowid = (SELECT docid FROM institute_search WHERE institute_id = new.id);
END;
