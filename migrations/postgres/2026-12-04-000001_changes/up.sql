-- The registry's change sequence: every committed change to an institute, programme, sector or
-- exchange rate, numbered in commit order (numbers are assigned under the write lock).
CREATE TABLE changes (
    seq BIGINT PRIMARY KEY NOT NULL,
    resource TEXT NOT NULL CHECK (resource IN ('institute', 'program', 'sector', 'exchange_rate')),
    resource_id TEXT NOT NULL,
    slug TEXT,
    op TEXT NOT NULL CHECK (op IN ('created', 'updated', 'deleted', 'merged')),
    successor TEXT,
    at TIMESTAMP NOT NULL
);
CREATE INDEX changes_resource ON changes (resource, resource_id, seq);

-- Each institute's public representation, rendered by the write that last changed it, its
-- ETag, and the change that rendered it.
ALTER TABLE institutes ADD COLUMN document TEXT NOT NULL DEFAULT '';
ALTER TABLE institutes ADD COLUMN etag TEXT NOT NULL DEFAULT '';
ALTER TABLE institutes ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;

-- What exists already enters the sequence as created (and what was deleted, as deleted), so
-- that following the sequence from 0 builds the whole registry.
INSERT INTO changes (seq, resource, resource_id, slug, op, successor, at)
SELECT ROW_NUMBER() OVER (ORDER BY k, at, resource_id), resource, resource_id, slug, op, successor, at
FROM (
    SELECT 1 AS k, 'sector' AS resource, slug AS resource_id, slug, 'created' AS op,
           NULL AS successor, (now() AT TIME ZONE 'UTC') AS at FROM sectors
    UNION ALL
    SELECT 2, 'exchange_rate', currency || '/' || year::text, NULL, 'created', NULL, (now() AT TIME ZONE 'UTC')
    FROM exchange_rates
    UNION ALL
    SELECT 3, 'program', id, slug, 'created', NULL, updated_at FROM programs
    UNION ALL
    SELECT 4, 'institute', id, slug, 'created', NULL, updated_at FROM institutes
    UNION ALL
    SELECT 5, 'institute', id, slug, CASE WHEN merged_into IS NULL THEN 'deleted' ELSE 'merged' END,
           merged_into, deleted_at FROM tombstones
) AS existing;
UPDATE institutes SET seq = (
    SELECT MAX(c.seq) FROM changes c WHERE c.resource = 'institute' AND c.resource_id = institutes.id
);

-- The registry's shape counter gives way to the sequence.
DELETE FROM registry_meta WHERE key = 'shape';
