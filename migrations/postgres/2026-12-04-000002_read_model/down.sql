-- Back to the schema before the read model: the planner indexes, the full-text index and its
-- vocabulary. search_text comes back empty: the previous version fills it as it writes each
-- institute, so search finds an institute again once it is written.
ALTER TABLE institutes ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE institutes ADD COLUMN acronym_key TEXT COLLATE "C";
CREATE INDEX institutes_acronym_key ON institutes (acronym_key);
ALTER TABLE institutes ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED;
CREATE INDEX institutes_search ON institutes USING gin (search_vector);
CREATE TABLE institute_vocab (
    term TEXT COLLATE "C" PRIMARY KEY
);
CREATE FUNCTION institutes_vocab_add() RETURNS trigger AS $$
BEGIN
    INSERT INTO institute_vocab (term)
        SELECT DISTINCT word FROM regexp_split_to_table(NEW.search_text, ' ') AS word
        WHERE word <> ''
        ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER institutes_vocab AFTER INSERT OR UPDATE OF search_text ON institutes
    FOR EACH ROW EXECUTE FUNCTION institutes_vocab_add();

CREATE INDEX institutes_country ON institutes (country, sort_name, id);
CREATE INDEX institutes_kind ON institutes (kind, sort_name, id);
CREATE INDEX institutes_status ON institutes (status, sort_name, id);
CREATE INDEX institutes_founded ON institutes (founded, id);
CREATE INDEX institutes_researchers ON institutes (latest_researchers, id);
CREATE INDEX institutes_budget ON institutes (comparable_budget_usd, id);
CREATE INDEX institutes_headcount ON institutes (headcount, id);
CREATE INDEX institutes_created ON institutes (created_at, id);
CREATE INDEX institutes_founded_asc ON institutes ((COALESCE(founded, 2147483647)), id);
CREATE INDEX institutes_founded_desc ON institutes ((COALESCE(founded, -2147483648)), id);
CREATE INDEX institutes_headcount_asc ON institutes ((COALESCE(headcount, 2147483647)), id);
CREATE INDEX institutes_headcount_desc ON institutes ((COALESCE(headcount, -2147483648)), id);
CREATE INDEX institutes_budget_asc ON institutes ((COALESCE(comparable_budget_usd, 1e300)), id);
CREATE INDEX institutes_budget_desc ON institutes ((COALESCE(comparable_budget_usd, -1e300)), id);
CREATE INDEX institutes_filter_cover ON institutes (status, country, kind, founded, headcount, comparable_budget_usd, id);
CREATE INDEX institutes_country_figures ON institutes (status, country, latest_researchers, latest_staff, comparable_budget_usd);
