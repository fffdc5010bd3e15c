-- Search: every institute's name, acronym and aliases, folded (lower case, accents removed,
-- punctuation reduced to spaces) into `search_text`, indexed by FTS5 for word and prefix
-- matches. `acronym_key` is the folded acronym, for exact acronym matches.
ALTER TABLE institutes ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE institutes ADD COLUMN acronym_key TEXT;
CREATE INDEX institutes_acronym_key ON institutes (acronym_key);

-- The full-text index keys documents by `docid`, which this table maps to institute ids: an
-- explicit INTEGER PRIMARY KEY never changes (an implicit rowid may, on VACUUM).
CREATE TABLE institute_search (
    docid INTEGER PRIMARY KEY,
    institute_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE institute_fts USING fts5 (
    search_text,
    tokenize = 'unicode61 remove_diacritics 2'
);
-- The index's vocabulary, for typo-tolerant matching.
CREATE VIRTUAL TABLE institute_vocab USING fts5vocab (institute_fts, 'row');

CREATE TRIGGER institutes_search_insert AFTER INSERT ON institutes BEGIN
    INSERT INTO institute_search (institute_id) VALUES (new.id);
    INSERT INTO institute_fts (rowid, search_text)
        VALUES ((SELECT docid FROM institute_search WHERE institute_id = new.id), new.search_text);
END;
CREATE TRIGGER institutes_search_update AFTER UPDATE OF search_text ON institutes BEGIN
    UPDATE institute_fts SET search_text = new.search_text
        WHERE rowid = (SELECT docid FROM institute_search WHERE institute_id = new.id);
END;
CREATE TRIGGER institutes_search_delete AFTER DELETE ON institutes BEGIN
    DELETE FROM institute_fts
        WHERE rowid = (SELECT docid FROM institute_search WHERE institute_id = old.id);
    DELETE FROM institute_search WHERE institute_id = old.id;
END;

-- Rows that exist already enter the index now; the server fills in their search text at start.
INSERT INTO institute_search (institute_id) SELECT id FROM institutes;
INSERT INTO institute_fts (rowid, search_text)
    SELECT s.docid, i.search_text FROM institute_search s JOIN institutes i ON i.id = s.institute_id;
