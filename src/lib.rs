//! Institute Registry: national AI and research institutes, their budgets, headcounts,
//! sectors, links and the programmes that fund them, served over HTTP.

pub mod api;
pub mod config;
pub mod db;
pub mod error;
pub mod model;
pub mod store;

use actix_web::HttpServer;
use config::{Cli, Command, ServeArgs};

/// Runs the command line; returns the process's exit message on failure.
pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command.unwrap_or(Command::Serve(ServeArgs {
        bind: std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8080".into()),
        workers: std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()),
        no_seed: std::env::var("NO_SEED").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false"),
    })) {
        Command::Openapi => {
            print!("{}", api::openapi_json());
            Ok(())
        }
        Command::Migrate => {
            let manager = db::ConnectionManager::new(&cli.database.database_url);
            let mut conn = manager.open().map_err(|e| e.to_string())?;
            let applied = db::run_migrations(&mut conn).map_err(|e| e.to_string())?;
            log::info!(
                "applied {applied} migrations on {}",
                manager.backend().name()
            );
            println!("applied {applied} migrations");
            Ok(())
        }
        Command::Seed => {
            let pool = db::connect(&cli.database.database_url, 1).map_err(|e| e.to_string())?;
            let data = store::seed::Dataset::embedded()?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let report =
                store::seed::seed(&mut conn, &data).map_err(|e| format!("seed failed: {e}"))?;
            println!("{report}");
            Ok(())
        }
        Command::Serve(args) => serve(&cli.database, args).await,
    }
}

async fn serve(database: &config::DatabaseArgs, args: ServeArgs) -> Result<(), String> {
    let backend = db::Backend::from_url(&database.database_url);
    let pool =
        db::connect(&database.database_url, database.pool_size).map_err(|e| e.to_string())?;
    if !args.no_seed {
        let data = store::seed::Dataset::embedded()?;
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        if let Some(report) =
            store::seed::seed_if_new(&mut conn, &data).map_err(|e| format!("seed failed: {e}"))?
        {
            log::info!("new database seeded: {report}");
        }
    }
    let state = api::AppState { pool, backend };
    let mut server = HttpServer::new(move || api::build_app(state.clone()));
    if let Some(workers) = args.workers {
        server = server.workers(workers);
    }
    let server = server
        .bind(&args.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    log::info!(
        "serving on http://{} ({}); docs at /docs",
        args.bind,
        backend.name()
    );
    server.run().await.map_err(|e| e.to_string())
}
