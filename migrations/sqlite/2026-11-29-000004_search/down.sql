DROP TRIGGER institutes_search_delete;
DROP TRIGGER institutes_search_update;
DROP TRIGGER institutes_search_insert;
DROP TABLE institute_vocab;
DROP TABLE institute_fts;
DROP TABLE institute_search;
DROP INDEX institutes_acronym_key;
ALTER TABLE institutes DROP COLUMN acronym_key;
ALTER TABLE institutes DROP COLUMN search_text;
