DROP TRIGGER institutes_vocab ON institutes;
DROP FUNCTION institutes_vocab_add();
DROP TABLE institute_vocab;
DROP INDEX institutes_search;
ALTER TABLE institutes DROP COLUMN search_vector;
DROP INDEX institutes_acronym_key;
ALTER TABLE institutes DROP COLUMN acronym_key;
ALTER TABLE institutes DROP COLUMN search_text;
