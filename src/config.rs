//! Settings: command-line flags, each with an environment fallback.

use clap::{Args, Parser, Subcommand};

/// A registry of national AI and research institutes, served as an OpenAPI-documented HTTP API.
#[derive(Debug, Parser)]
#[command(name = "institute-registry", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database: a SQLite file path (optionally `sqlite://path`) or a `postgres://` URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "registry.db",
        global = true
    )]
    pub database_url: String,
    /// Maximum number of pooled database connections.
    #[arg(long, env = "POOL_SIZE", default_value_t = 8, global = true)]
    pub pool_size: u32,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "WORKERS")]
    pub workers: Option<usize>,
    /// Do not load the seed dataset into a new database.
    #[arg(long, env = "NO_SEED")]
    pub no_seed: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate,
    /// Add the seed dataset's missing records (idempotent) and exit.
    Seed,
    /// Print the OpenAPI document that `openapi/openapi.json` must equal.
    Openapi,
    /// Add a synthetic registry for benchmarks (slugs `synthetic-…`) to the database, after
    /// seeding it. Use a database of its own.
    Generate {
        /// How many institutes to add.
        #[arg(long, default_value_t = 120_000)]
        institutes: usize,
        /// Random seed: the same seed gives the same registry.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Import institutes from a JSON array, NDJSON or CSV file (the export's formats):
    /// each record updates the institute with its id, slug or external id, or creates one.
    /// All or nothing unless --partial.
    Import {
        /// The file to read.
        file: String,
        /// The file's format; by default from its extension, else from its first bytes.
        #[arg(long, value_parser = ["csv", "ndjson", "json"])]
        format: Option<String>,
        /// Check and apply everything, then roll back: report what would happen.
        #[arg(long)]
        dry_run: bool,
        /// Import the valid records even if others are rejected.
        #[arg(long)]
        partial: bool,
        /// Write every rejected record's problems to this CSV file (line, record, field,
        /// reason).
        #[arg(long)]
        report: Option<String>,
    },
    /// Export every institute, with its whole budget and headcount series, to a file that
    /// `import` reads back.
    Export {
        /// The format: csv, ndjson or json (default: from --output's extension, else ndjson).
        #[arg(long, value_parser = ["csv", "ndjson", "json"])]
        format: Option<String>,
        /// The file to write (default: standard output).
        #[arg(long, short)]
        output: Option<String>,
    },
    /// Copy a SQLite database to a new file while it serves (consistent, compacted).
    Backup {
        /// The file to create; it must not exist.
        file: String,
    },
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it once (only its hash is stored).
    Create {
        /// A unique name for the key; it is recorded as the author of every change made with it.
        #[arg(long)]
        name: String,
        /// `editor` (institutes, figures, programmes) or `admin` (also sectors, rates).
        #[arg(long, value_parser = ["editor", "admin"])]
        role: String,
    },
    /// List keys: names, roles, created, last used, revoked; never a secret.
    List,
    /// Revoke a key by name.
    Revoke {
        /// The key's name.
        name: String,
    },
}
