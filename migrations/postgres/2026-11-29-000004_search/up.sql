-- Search: every institute's name, acronym and aliases, folded (lower case, accents removed,
-- punctuation reduced to spaces) into `search_text`, indexed as a tsvector for word and prefix
-- matches. `acronym_key` is the folded acronym, for exact acronym matches.
ALTER TABLE institutes ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE institutes ADD COLUMN acronym_key TEXT COLLATE "C";
CREATE INDEX institutes_acronym_key ON institutes (acronym_key);
-- The words, stored (a match is checked against the stored vector, not recomputed per row).
ALTER TABLE institutes ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED;
CREATE INDEX institutes_search ON institutes USING gin (search_vector);

-- The index's vocabulary, for typo-tolerant matching: every word of every search text.
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
