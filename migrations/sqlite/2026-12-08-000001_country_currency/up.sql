-- The ISO 4217 currency a country's own figures are in (its local currency units, in which
-- the World Bank states purchasing-power factors); filled from the seed when the server starts.
ALTER TABLE countries ADD COLUMN currency TEXT NULL;
