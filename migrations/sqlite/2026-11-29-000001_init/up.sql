CREATE TABLE countries (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    subregion TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('country', 'union'))
);

CREATE TABLE currencies (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    minor_units INTEGER
);

CREATE TABLE sectors (
    slug TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT
);

CREATE TABLE institutes (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    acronym TEXT,
    aliases TEXT NOT NULL DEFAULT '[]',
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    country TEXT NOT NULL REFERENCES countries (code),
    city TEXT,
    founded INTEGER,
    website TEXT,
    description TEXT,
    parent_id TEXT REFERENCES institutes (id),
    ror TEXT UNIQUE,
    wikidata TEXT UNIQUE,
    grid TEXT UNIQUE,
    unverified_fields TEXT NOT NULL DEFAULT '[]',
    latest_researchers INTEGER,
    latest_staff INTEGER,
    comparable_budget_usd DOUBLE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX institutes_sort_name ON institutes (sort_name, id);
CREATE INDEX institutes_country ON institutes (country, sort_name, id);
CREATE INDEX institutes_kind ON institutes (kind, sort_name, id);
CREATE INDEX institutes_status ON institutes (status, sort_name, id);
CREATE INDEX institutes_parent ON institutes (parent_id);
CREATE INDEX institutes_founded ON institutes (founded, id);
CREATE INDEX institutes_updated ON institutes (updated_at, id);
CREATE INDEX institutes_researchers ON institutes (latest_researchers, id);
CREATE INDEX institutes_budget ON institutes (comparable_budget_usd, id);

CREATE TABLE institute_sectors (
    institute_id TEXT NOT NULL REFERENCES institutes (id) ON DELETE CASCADE,
    sector TEXT NOT NULL REFERENCES sectors (slug),
    PRIMARY KEY (institute_id, sector)
);
CREATE INDEX institute_sectors_sector ON institute_sectors (sector, institute_id);

CREATE TABLE budgets (
    id TEXT PRIMARY KEY NOT NULL,
    institute_id TEXT NOT NULL REFERENCES institutes (id) ON DELETE CASCADE,
    year INTEGER NOT NULL,
    kind TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount >= 0),
    currency TEXT NOT NULL REFERENCES currencies (code),
    period_end INTEGER,
    source TEXT NOT NULL,
    note TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (institute_id, year, kind)
);

CREATE TABLE headcounts (
    id TEXT PRIMARY KEY NOT NULL,
    institute_id TEXT NOT NULL REFERENCES institutes (id) ON DELETE CASCADE,
    year INTEGER NOT NULL,
    researchers INTEGER CHECK (researchers >= 0),
    staff INTEGER CHECK (staff >= 0),
    basis TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (institute_id, year)
);

CREATE TABLE programs (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    jurisdiction TEXT NOT NULL REFERENCES countries (code),
    name TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount >= 0),
    currency TEXT NOT NULL REFERENCES currencies (code),
    announced INTEGER NOT NULL,
    period TEXT,
    public_or_private TEXT,
    source TEXT NOT NULL,
    description TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX programs_jurisdiction ON programs (jurisdiction, announced);

CREATE TABLE exchange_rates (
    currency TEXT NOT NULL REFERENCES currencies (code),
    year INTEGER NOT NULL,
    units_per_usd DOUBLE NOT NULL CHECK (units_per_usd > 0),
    source TEXT NOT NULL,
    PRIMARY KEY (currency, year)
);

CREATE TABLE registry_meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
