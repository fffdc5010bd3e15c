DELETE FROM changes WHERE resource = 'country_indicator';
ALTER TABLE changes DROP CONSTRAINT changes_resource_check;
ALTER TABLE changes ADD CONSTRAINT changes_resource_check
    CHECK (resource IN ('institute', 'program', 'sector', 'exchange_rate'));
DROP TABLE country_indicators;
