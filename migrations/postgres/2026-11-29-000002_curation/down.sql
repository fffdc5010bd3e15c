DELETE FROM registry_meta WHERE key = 'write_lock';
DROP TABLE tombstones;
DROP TABLE former_slugs;
DROP TABLE history;
DROP TABLE api_keys;
