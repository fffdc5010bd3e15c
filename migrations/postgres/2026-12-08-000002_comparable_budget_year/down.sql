ALTER TABLE institutes DROP COLUMN comparable_budget_year;
