-- The registry's shape: a counter bumped by every write that can change a list total or an
-- aggregate (every write but an edit of an institute's free text: city, website, description,
-- external ids, unverified fields). Cached totals and aggregates key on it.
INSERT INTO registry_meta (key, value) VALUES ('shape', '0');
