-- Country indicators by year: population, GDP in current US$ and the PPP conversion factor
-- (local currency units per international dollar), each nullable (the source publishes no
-- value), with the row's source. Loaded from the seed into a table that is empty (a new
-- database, or one upgraded from a version without it); admin-writable.
CREATE TABLE country_indicators (
    country TEXT NOT NULL REFERENCES countries (code),
    year INTEGER NOT NULL,
    population BIGINT CHECK (population > 0),
    gdp_current_usd DOUBLE PRECISION CHECK (gdp_current_usd > 0),
    ppp_lcu_per_intl_dollar DOUBLE PRECISION CHECK (ppp_lcu_per_intl_dollar > 0),
    source TEXT NOT NULL,
    PRIMARY KEY (country, year)
);

-- The change sequence records country indicators too (`CC/YEAR`).
ALTER TABLE changes DROP CONSTRAINT changes_resource_check;
ALTER TABLE changes ADD CONSTRAINT changes_resource_check
    CHECK (resource IN ('institute', 'program', 'sector', 'exchange_rate', 'country_indicator'));
