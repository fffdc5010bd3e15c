DELETE FROM changes WHERE resource = 'country_indicator';
CREATE TABLE changes_old (
    seq BIGINT PRIMARY KEY NOT NULL,
    resource TEXT NOT NULL CHECK (resource IN ('institute', 'program', 'sector', 'exchange_rate')),
    resource_id TEXT NOT NULL,
    slug TEXT,
    op TEXT NOT NULL CHECK (op IN ('created', 'updated', 'deleted', 'merged')),
    successor TEXT,
    at TIMESTAMP NOT NULL
);
INSERT INTO changes_old SELECT seq, resource, resource_id, slug, op, successor, at FROM changes;
DROP TABLE changes;
ALTER TABLE changes_old RENAME TO changes;
CREATE INDEX changes_resource ON changes (resource, resource_id, seq);
DROP TABLE country_indicators;
