-- The year of the comparable budget (the latest budget's, when it is comparable), what the
-- read model needs to value it at purchasing-power parity. Filled from the stored documents;
-- rows without one yet are filled when the server starts, once their documents are rendered.
ALTER TABLE institutes ADD COLUMN comparable_budget_year INTEGER NULL;
UPDATE institutes SET comparable_budget_year = json_extract(document, '$.latest_budget.year')
WHERE comparable_budget_usd IS NOT NULL AND document <> '';
