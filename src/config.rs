//! Settings: command-line flags, each with an environment fallback.

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// A registry of national AI and research institutes, served as an OpenAPI-documented HTTP API.
#[derive(Debug, Parser)]
#[command(
    name = "institute-registry",
    version,
    about,
    after_help = "Logging: RUST_LOG sets what is logged to standard error (default `info`: one line per request and the server's events; `warn` for problems only; `debug` for more), e.g. RUST_LOG=warn institute-registry serve"
)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// `serve`'s settings, for when no command is given (`serve` is the default).
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses the command line; exits with clap's usage error when a flag of `serve` is given
    /// before another command (where it would be ignored).
    pub fn parse_checked() -> Cli {
        let mut command = Cli::command();
        let matches = command.clone().get_matches();
        if let Some((name, _)) = matches.subcommand() {
            let serve_flags = ServeArgs::augment_args(clap::Command::new("serve"));
            for arg in serve_flags.get_arguments() {
                let id = arg.get_id().as_str();
                if matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine) {
                    let flag = arg.get_long().unwrap_or(id);
                    let advice = if name == "serve" {
                        format!("write it after `serve`: institute-registry serve --{flag} …")
                    } else {
                        format!("it is a flag of `serve`, which `{name}` does not take")
                    };
                    command
                        .error(
                            clap::error::ErrorKind::ArgumentConflict,
                            format!("--{flag} given before `{name}`: {advice}"),
                        )
                        .exit();
                }
            }
        }
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
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
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Maximum number of pooled database connections.
    #[arg(long, env = "POOL_SIZE", default_value_t = 8)]
    pub pool_size: u32,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "WORKERS")]
    pub workers: Option<usize>,
    /// Threads each worker may run database work on at once (default: the pool's size plus
    /// the exports allowed, so that exports never starve other reads). More only wait for a
    /// connection, each with its own stack and allocator heap.
    #[arg(long, env = "BLOCKING_THREADS")]
    pub blocking_threads: Option<usize>,
    /// Do not load the seed's institutes and programmes into a new database (its reference
    /// data, which writes are checked against, is loaded all the same: countries, currencies,
    /// sectors, exchange rates).
    #[arg(long, env = "NO_SEED", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_seed: bool,
    /// Requests per minute allowed to each client (a live API key, else an IP address; IPv6 by
    /// /64); 0 disables rate limiting. Beyond it: 429 with Retry-After. /healthz, /readyz and
    /// /metrics are exempt.
    #[arg(long, env = "RATE_LIMIT", default_value_t = 1200)]
    pub rate_limit: u32,
    /// Requests a client may send at once (its allowance when idle, refilled at the steady rate).
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_burst: u32,
    /// Take the client's address from the left-most X-Forwarded-For entry (set this only
    /// behind a reverse proxy that writes that header).
    #[arg(long, env = "TRUST_PROXY", value_parser = clap::builder::BoolishValueParser::new())]
    pub trust_proxy: bool,
    /// Requests handled at once by this process; beyond, 503 with Retry-After at once. 0: no limit.
    #[arg(long, env = "MAX_IN_FLIGHT", default_value_t = 512)]
    pub max_in_flight: usize,
    /// Requests one client (a verified API key, else an IP address) may have in progress at
    /// once; beyond, 429 at once. 0: no limit.
    #[arg(long, env = "MAX_CLIENT_IN_FLIGHT", default_value_t = 64)]
    pub max_client_in_flight: usize,
    /// Seconds a request's whole body may take to arrive, however slowly it trickles; beyond,
    /// 408 and the connection is closed. 0: no limit.
    #[arg(long, env = "BODY_TIMEOUT", default_value_t = 10)]
    pub body_timeout: u64,
    /// CSV and NDJSON exports streamed at once by this process; beyond, 503 with Retry-After.
    /// 0: no limit.
    #[arg(long, env = "MAX_EXPORTS", default_value_t = 4)]
    pub max_exports: usize,
    /// Exports one client may have streaming at once; beyond, 429. 0: no limit.
    #[arg(long, env = "MAX_CLIENT_EXPORTS", default_value_t = 2)]
    pub max_client_exports: usize,
    /// Seconds an export waits for a client that has stopped reading it; beyond, the export
    /// ends in an error and frees its place. 0: waits for ever.
    #[arg(long, env = "EXPORT_STALL_TIMEOUT", default_value_t = 30)]
    pub export_stall_timeout: u64,
    /// Browser origins allowed to call the API (CORS), separated by commas, each
    /// `scheme://host[:port]`: they may call every operation. `*` alone: any origin may read
    /// (GET, HEAD), none may write. Empty (the default): no cross-origin access.
    #[arg(long, env = "CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,
    /// Open connections accepted by this process, shared out among the workers.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    /// Pending connections the listening socket queues before refusing.
    #[arg(long, env = "BACKLOG", default_value_t = 2048)]
    pub backlog: u32,
    /// Seconds a client has to send a request's head; beyond, 408 and the connection closes.
    #[arg(long, env = "CLIENT_REQUEST_TIMEOUT", default_value_t = 10)]
    pub client_request_timeout: u64,
    /// Seconds an idle keep-alive connection stays open; 0 closes it after each response.
    #[arg(long, env = "KEEP_ALIVE", default_value_t = 30)]
    pub keep_alive: u64,
    /// Seconds given to a client to close its side of a connection the server is closing.
    #[arg(long, env = "CLIENT_DISCONNECT_TIMEOUT", default_value_t = 5)]
    pub client_disconnect_timeout: u64,
    /// Seconds the server goes on serving after SIGTERM while `/readyz` fails and every response
    /// closes its connection, so that balancers move traffic away; then it stops accepting and
    /// finishes what is in flight. SIGINT skips it.
    #[arg(long, env = "DRAIN_SECONDS", default_value_t = 5)]
    pub drain_seconds: u64,
    /// Seconds given to requests in flight to finish once the server stops accepting (after the
    /// drain on SIGTERM; at once on SIGINT); then the process exits.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate,
    /// Add the seed dataset's missing records and bring the seed institutes nobody else has
    /// changed up to this build's seed (idempotent), and exit.
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
