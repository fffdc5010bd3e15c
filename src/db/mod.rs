//! Database access: the connection enum over both backends, the pool, pragmas and migrations.
//! Nothing else in the crate opens a connection.

pub mod schema;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// One connection type for both backends; queries written once with diesel's DSL run on either.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// The database engine, chosen from the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// `postgres://` and `postgresql://` select PostgreSQL; anything else is a SQLite path
    /// (optionally written `sqlite://path`).
    pub fn from_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgresql",
            Backend::Sqlite => "sqlite",
        }
    }
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Why the database could not be opened or prepared; the message is meant for the operator.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to the {backend} database: {source}")]
    Connect {
        backend: &'static str,
        source: diesel::ConnectionError,
    },
    #[error("cannot prepare the connection: {0}")]
    Setup(#[from] diesel::result::Error),
    #[error("cannot build the connection pool: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("migration failed: {0}")]
    Migration(String),
}

/// Opens connections of the backend named by the URL, directly (no trial of each variant),
/// and applies the per-connection settings SQLite needs.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    backend: Backend,
    url: String,
}

impl ConnectionManager {
    pub fn new(url: &str) -> ConnectionManager {
        let backend = Backend::from_url(url);
        let url = match backend {
            Backend::Sqlite => url.strip_prefix("sqlite://").unwrap_or(url).to_string(),
            Backend::Postgres => url.to_string(),
        };
        ConnectionManager { backend, url }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens one connection, reporting the backend's own error.
    pub fn open(&self) -> Result<DbConnection, DbError> {
        match self.backend {
            Backend::Postgres => {
                let conn =
                    PgConnection::establish(&self.url).map_err(|source| DbError::Connect {
                        backend: "postgresql",
                        source,
                    })?;
                Ok(DbConnection::Postgresql(conn))
            }
            Backend::Sqlite => {
                let mut conn =
                    SqliteConnection::establish(&self.url).map_err(|source| DbError::Connect {
                        backend: "sqlite",
                        source,
                    })?;
                // One statement each: these must all run, and batch_execute runs them all.
                // Switching a new file to WAL does not wait for another connection's lock:
                // retry that, as the busy timeout does for everything else.
                retry_while_locked(|| {
                    conn.batch_execute(
                        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                         PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                    )
                    .map_err(DbError::Setup)
                })?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = DbError;

    fn connect(&self) -> Result<DbConnection, DbError> {
        self.open()
    }

    /// Checked on every checkout, but a query runs only for a while after a connection was
    /// seen lost (see [`connection_lost`]): then the pool's idle connections to a server that
    /// went away and came back are found dead and replaced before any request uses them.
    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), DbError> {
        if !validating() {
            return Ok(());
        }
        conn.batch_execute("SELECT 1").map_err(DbError::Setup)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        // A connection left inside a failed transaction, or whose server went away, is dropped
        // from the pool instead of failing the next request.
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// How long pooled connections are tested on checkout after a lost connection was seen.
const VALIDATE_AFTER_LOSS: Duration = Duration::from_secs(60);

/// Milliseconds since `CLOCK_START` until which checkouts are tested; 0: not testing.
static VALIDATE_UNTIL_MS: AtomicU64 = AtomicU64::new(0);
static CLOCK_START: OnceLock<Instant> = OnceLock::new();

fn clock_ms() -> u64 {
    CLOCK_START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Records that a database connection was found dead (or none could be made): for the next
/// minute every checkout tests its connection first, so the connections the pool holds from
/// before an outage are dropped instead of failing requests once the database is back.
/// Process-wide: a pool has no handle on its manager, and a test query is cheap.
pub fn connection_lost() {
    let until = clock_ms() + VALIDATE_AFTER_LOSS.as_millis() as u64;
    VALIDATE_UNTIL_MS.fetch_max(until, Ordering::Relaxed);
}

fn validating() -> bool {
    let until = VALIDATE_UNTIL_MS.load(Ordering::Relaxed);
    until != 0 && clock_ms() < until
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// Connects once directly (so a bad URL fails at once with the real reason), runs the
/// migrations, then builds the pool.
pub fn connect(url: &str, pool_size: u32) -> Result<Pool, DbError> {
    let manager = ConnectionManager::new(url);
    let mut first = manager.open()?;
    run_migrations(&mut first)?;
    drop(first);
    let pool = r2d2::Pool::builder()
        .max_size(pool_size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        // Cheap: `is_valid` queries only after a lost connection (see `connection_lost`).
        .test_on_check_out(true)
        .build(manager)?;
    Ok(pool)
}

/// Runs `f` again while SQLite answers "database is locked" without waiting (for up to 10 s).
fn retry_while_locked<T>(mut f: impl FnMut() -> Result<T, DbError>) -> Result<T, DbError> {
    let mut tries = 0;
    loop {
        match f() {
            Err(e) if tries < 200 && e.to_string().contains("database is locked") => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// The session-level advisory lock that serializes migrations on PostgreSQL.
const MIGRATION_LOCK_KEY: i64 = 0x1_2e61_4d47;

/// Applies every pending migration of the connection's backend. On PostgreSQL, processes
/// starting at once on one database take turns (an advisory lock): the first applies the
/// migrations, the others find none pending. On SQLite the database's write lock does it.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, DbError> {
    let applied = match conn {
        DbConnection::Postgresql(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let applied = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len());
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            applied
        }
        // All in one transaction that takes the write lock first: a second process waits, then
        // finds nothing pending (each migration's own transaction becomes a savepoint).
        DbConnection::Sqlite(c) => {
            return retry_while_locked(|| {
                c.immediate_transaction(|c| {
                    c.run_pending_migrations(SQLITE_MIGRATIONS)
                        .map(|v| v.len())
                        .map_err(|e| DbError::Migration(e.to_string()))
                })
            });
        }
    };
    applied.map_err(|e| DbError::Migration(e.to_string()))
}

/// Reverts every migration of the connection's backend (used to prove they are reversible).
pub fn revert_all_migrations(conn: &mut DbConnection) -> Result<usize, DbError> {
    let reverted = match conn {
        DbConnection::Postgresql(c) => c
            .revert_all_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    reverted.map_err(|e| DbError::Migration(e.to_string()))
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// The file a SQLite connection has open as its main database (`None` for PostgreSQL or an
/// in-memory database).
pub fn sqlite_main_file(conn: &mut DbConnection) -> Option<std::path::PathBuf> {
    use diesel::sql_types::Text;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        file: String,
    }
    let DbConnection::Sqlite(conn) = conn else {
        return None;
    };
    let rows: Vec<Row> =
        diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .load(conn)
            .ok()?;
    rows.into_iter()
        .map(|r| r.file)
        .find(|f| !f.is_empty())
        .map(Into::into)
}
