DELETE FROM registry_meta WHERE key = 'shape';
