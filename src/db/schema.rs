//! Table definitions shared by both backends (only types common to SQLite and PostgreSQL).

diesel::table! {
    countries (code) {
        code -> Text,
        name -> Text,
        region -> Text,
        subregion -> Text,
        kind -> Text,
        currency -> Nullable<Text>,
    }
}

diesel::table! {
    currencies (code) {
        code -> Text,
        name -> Text,
        minor_units -> Nullable<Integer>,
    }
}

diesel::table! {
    sectors (slug) {
        slug -> Text,
        name -> Text,
        description -> Nullable<Text>,
    }
}

diesel::table! {
    institutes (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        sort_name -> Text,
        acronym -> Nullable<Text>,
        aliases -> Text,
        kind -> Text,
        status -> Text,
        country -> Text,
        city -> Nullable<Text>,
        founded -> Nullable<Integer>,
        website -> Nullable<Text>,
        description -> Nullable<Text>,
        parent_id -> Nullable<Text>,
        ror -> Nullable<Text>,
        wikidata -> Nullable<Text>,
        grid -> Nullable<Text>,
        unverified_fields -> Text,
        latest_researchers -> Nullable<Integer>,
        latest_staff -> Nullable<Integer>,
        comparable_budget_usd -> Nullable<Double>,
        comparable_budget_year -> Nullable<Integer>,
        headcount -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        document -> Text,
        etag -> Text,
        seq -> BigInt,
    }
}

diesel::table! {
    institute_sectors (institute_id, sector) {
        institute_id -> Text,
        sector -> Text,
    }
}

diesel::table! {
    budgets (id) {
        id -> Text,
        institute_id -> Text,
        year -> Integer,
        kind -> Text,
        amount -> BigInt,
        currency -> Text,
        period_end -> Nullable<Integer>,
        source -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    headcounts (id) {
        id -> Text,
        institute_id -> Text,
        year -> Integer,
        researchers -> Nullable<Integer>,
        staff -> Nullable<Integer>,
        basis -> Text,
        source -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    programs (id) {
        id -> Text,
        slug -> Text,
        jurisdiction -> Text,
        name -> Text,
        amount -> BigInt,
        currency -> Text,
        announced -> Integer,
        period -> Nullable<Text>,
        public_or_private -> Nullable<Text>,
        source -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    country_indicators (country, year) {
        country -> Text,
        year -> Integer,
        population -> Nullable<BigInt>,
        gdp_current_usd -> Nullable<Double>,
        ppp_lcu_per_intl_dollar -> Nullable<Double>,
        source -> Text,
    }
}

diesel::table! {
    exchange_rates (currency, year) {
        currency -> Text,
        year -> Integer,
        units_per_usd -> Double,
        source -> Text,
    }
}

diesel::table! {
    registry_meta (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        role -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    history (id) {
        id -> Text,
        institute_id -> Nullable<Text>,
        subject -> Text,
        subject_id -> Text,
        action -> Text,
        actor -> Text,
        at -> Timestamp,
        before -> Nullable<Text>,
        after -> Nullable<Text>,
    }
}

diesel::table! {
    former_slugs (slug) {
        slug -> Text,
        institute_id -> Text,
    }
}

diesel::table! {
    tombstones (id) {
        id -> Text,
        slug -> Text,
        merged_into -> Nullable<Text>,
        deleted_at -> Timestamp,
    }
}

diesel::table! {
    /// The registry's change sequence, in commit order.
    changes (seq) {
        seq -> BigInt,
        resource -> Text,
        resource_id -> Text,
        slug -> Nullable<Text>,
        op -> Text,
        successor -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::joinable!(institute_sectors -> institutes (institute_id));
diesel::joinable!(institute_sectors -> sectors (sector));
diesel::joinable!(budgets -> institutes (institute_id));
diesel::joinable!(headcounts -> institutes (institute_id));
diesel::joinable!(institutes -> countries (country));

diesel::allow_tables_to_appear_in_same_query!(
    countries,
    currencies,
    sectors,
    institutes,
    institute_sectors,
    budgets,
    headcounts,
    programs,
    exchange_rates,
    country_indicators,
    registry_meta,
    api_keys,
    history,
    former_slugs,
    tombstones,
    changes,
);
