-- API keys: only a SHA-256 hash of each key is stored.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('editor', 'admin')),
    key_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);

-- Every write, in the transaction that made it. No foreign key: history outlives its subject.
CREATE TABLE history (
    id TEXT PRIMARY KEY NOT NULL,
    institute_id TEXT,
    subject TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX history_institute ON history (institute_id, at, id);
CREATE INDEX history_subject ON history (subject, subject_id, at, id);

-- Slugs an institute answered to before a rename; they keep resolving to it.
CREATE TABLE former_slugs (
    slug TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    institute_id TEXT NOT NULL REFERENCES institutes (id) ON DELETE CASCADE
);

-- Deleted institutes: their id and slug are never reused, and a merged one points to its successor.
CREATE TABLE tombstones (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL,
    merged_into TEXT,
    deleted_at TIMESTAMP NOT NULL
);
CREATE INDEX tombstones_slug ON tombstones (slug);
CREATE INDEX tombstones_deleted ON tombstones (deleted_at, id);

INSERT INTO registry_meta (key, value) VALUES ('write_lock', '0');
