INSERT INTO registry_meta (key, value) VALUES ('shape', '0');
ALTER TABLE institutes DROP COLUMN seq;
ALTER TABLE institutes DROP COLUMN etag;
ALTER TABLE institutes DROP COLUMN document;
DROP TABLE changes;
