ALTER TABLE countries DROP COLUMN currency;
