-- Country indicators by year: population, GDP in current US$ and the PPP conversion factor
-- (local currency units per international dollar), each nullable (the source publishes no
-- value), with the row's source. Loaded from the seed into a table that is empty (a new
-- database, or one upgraded from a version without it); admin-writable.
CREATE TABLE country_indicators (
    country TEXT NOT NULL REFERENCES countries (code),
    year INTEGER NOT NULL,
    population BIGINT CHECK (population > 0),
    gdp_current_usd DOUBLE CHECK (gdp_current_usd > 0),
    ppp_lcu_per_intl_dollar DOUBLE CHECK (ppp_lcu_per_intl_dollar > 0),
    source TEXT NOT NULL,
    PRIMARY KEY (country, year)
);

-- The change sequence records country indicators too (`CC/YEAR`): SQLite changes a CHECK by
-- rebuilding the table.
CREATE TABLE changes_new (
    seq BIGINT PRIMARY KEY NOT NULL,
    resource TEXT NOT NULL CHECK (resource IN ('institute', 'program', 'sector', 'exchange_rate', 'country_indicator')),
    resource_id TEXT NOT NULL,
    slug TEXT,
    op TEXT NOT NULL CHECK (op IN ('created', 'updated', 'deleted', 'merged')),
    successor TEXT,
    at TIMESTAMP NOT NULL
);
INSERT INTO changes_new SELECT seq, resource, resource_id, slug, op, successor, at FROM changes;
DROP TABLE changes;
ALTER TABLE changes_new RENAME TO changes;
CREATE INDEX changes_resource ON changes (resource, resource_id, seq);
