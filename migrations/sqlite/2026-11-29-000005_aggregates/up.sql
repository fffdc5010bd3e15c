-- Country summaries read every active institute's latest figures from this index alone.
CREATE INDEX institutes_country_figures ON institutes (status, country, latest_researchers, latest_staff, comparable_budget_usd);
