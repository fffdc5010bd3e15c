-- Stored documents name the entry of latest_budget `id` (was `entry_id`), as latest_headcount
-- does: every document is rendered again when the server next starts.
UPDATE institutes SET document = '' WHERE document <> '';
