//! Institute Registry: national AI and research institutes, their budgets, headcounts,
//! sectors, links and the programmes that fund them, served over HTTP.

pub mod api;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod model;
pub mod read;
pub mod store;

use config::{Cli, Command, ServeArgs};
use model::interchange::FileFormat;

/// Runs the command line; returns the process's exit message on failure.
pub async fn run(cli: Cli) -> Result<(), String> {
    let command = match cli.command {
        Some(command) => command,
        None => Command::Serve(cli.serve),
    };
    match command {
        Command::Openapi => {
            use std::io::Write;
            // A reader that stops early (`| head`) is not a failure.
            match std::io::stdout()
                .lock()
                .write_all(api::openapi_json().as_bytes())
            {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(format!("cannot write the spec: {e}"))
                }
                _ => Ok(()),
            }
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
        Command::Generate { institutes, seed } => {
            cli::generate(&cli.database.database_url, institutes, seed)
        }
        Command::Import {
            file,
            format,
            dry_run,
            partial,
            report,
        } => cli::import(
            &cli.database.database_url,
            cli::ImportArgs {
                file,
                format: format.as_deref().and_then(FileFormat::parse),
                options: store::write::import::Options {
                    dry_run,
                    partial,
                    ..Default::default()
                },
                report,
            },
        ),
        Command::Export { format, output } => {
            let format = format
                .as_deref()
                .and_then(FileFormat::parse)
                .or_else(|| output.as_deref().map(|o| FileFormat::detect(o, b"{")))
                .unwrap_or(FileFormat::Ndjson);
            cli::export(&cli.database.database_url, format, output.as_deref())
        }
        Command::Backup { file } => cli::backup(&cli.database.database_url, &file),
        Command::Keys(command) => run_keys(&cli.database, command),
        Command::Serve(args) => serve(&cli.database, args).await,
    }
}

fn run_keys(database: &config::DatabaseArgs, command: config::KeysCommand) -> Result<(), String> {
    use config::KeysCommand;
    use model::access::Role;
    let pool = db::connect(&database.database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    match command {
        KeysCommand::Create { name, role } => {
            let role = Role::parse(&role).ok_or("role must be editor or admin")?;
            let secret = store::keys::create(&mut conn, &name, role).map_err(|e| e.to_string())?;
            eprintln!(
                "created {} key '{name}'; it is shown only this once:",
                role.as_str()
            );
            println!("{secret}");
        }
        KeysCommand::List => {
            let keys = store::keys::list(&mut conn).map_err(|e| e.to_string())?;
            println!(
                "{:<24} {:<7} {:<20} {:<20} REVOKED",
                "NAME", "ROLE", "CREATED", "LAST USED"
            );
            let show = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_else(|| "-".into())
            };
            for k in keys {
                println!(
                    "{:<24} {:<7} {:<20} {:<20} {}",
                    k.name,
                    k.role.as_str(),
                    show(Some(k.created_at)),
                    show(k.last_used_at),
                    show(k.revoked_at)
                );
            }
        }
        KeysCommand::Revoke { name } => {
            if !store::keys::revoke(&mut conn, &name).map_err(|e| e.to_string())? {
                return Err(format!("no active key named '{name}'"));
            }
            println!("revoked '{name}'");
        }
    }
    Ok(())
}

async fn serve(database: &config::DatabaseArgs, args: ServeArgs) -> Result<(), String> {
    let backend = db::Backend::from_url(&database.database_url);
    let pool = db::connect(&database.database_url, args.pool_size).map_err(|e| e.to_string())?;
    {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        let rendered = store::write::documents::backfill(&mut conn).map_err(|e| e.to_string())?;
        if rendered > 0 {
            log::info!("documents rendered for {rendered} institutes");
        }
        let years =
            store::write::documents::backfill_budget_years(&mut conn).map_err(|e| e.to_string())?;
        if years > 0 {
            log::info!("comparable budget years recorded for {years} institutes");
        }
    }
    {
        let data = store::seed::Dataset::embedded()?;
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        if !args.no_seed {
            if let Some(report) = store::seed::seed_if_new(&mut conn, &data)
                .map_err(|e| format!("seed failed: {e}"))?
            {
                if report.kept.is_empty() {
                    log::info!("seeded: {report}");
                } else {
                    log::warn!("seed upgraded: {report}");
                }
            }
        } else if store::write::vocabulary(&mut conn)
            .map_err(|e| e.to_string())?
            .countries
            .is_empty()
        {
            // Without institutes, but with what a write is checked against.
            let report = store::seed::seed_reference(&mut conn, &data)
                .map_err(|e| format!("seed failed: {e}"))?;
            log::info!("new database: reference data loaded, no institutes (--no-seed): {report}");
        }
        // A registry upgraded from a version without country indicators gets the seed's.
        let added = store::seed::seed_indicators_if_empty(&mut conn, &data)
            .map_err(|e| format!("seed failed: {e}"))?;
        if added > 0 {
            log::info!("country indicators loaded: {added} country-years");
        }
    }
    let cors = api::http::CorsPolicy::parse(&args.cors_origins)?;
    let state = api::AppState::new(pool, &database.database_url)?
        .with_cors(cors)
        .with_limits(api::limits::Limits {
            rate_limit: args.rate_limit,
            rate_limit_burst: args.rate_limit_burst,
            trust_proxy: args.trust_proxy,
            max_in_flight: args.max_in_flight,
            max_client_in_flight: args.max_client_in_flight,
            body_timeout: (args.body_timeout > 0)
                .then(|| std::time::Duration::from_secs(args.body_timeout)),
            max_exports: args.max_exports,
            max_client_exports: args.max_client_exports,
            export_stall: (args.export_stall_timeout > 0)
                .then(|| std::time::Duration::from_secs(args.export_stall_timeout)),
            ..Default::default()
        });
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let per_worker = args.max_connections.div_ceil(workers as u64).max(1) as usize;
    let secs = std::time::Duration::from_secs;
    let draining = state.draining.clone();
    let transport = api::wire::Transport {
        workers,
        // Each worker's threads for database work: more than the pool and the exports would
        // only wait for a connection, each with a stack and a heap.
        blocking_threads: args
            .blocking_threads
            .unwrap_or(args.pool_size as usize + args.max_exports),
        connections_per_worker: per_worker,
        backlog: args.backlog,
        client_request_timeout: secs(args.client_request_timeout),
        keep_alive: secs(args.keep_alive),
        client_disconnect_timeout: secs(args.client_disconnect_timeout),
        shutdown_timeout: args.shutdown_timeout,
        // Connections whose client stops taking what is sent are closed by the kernel after
        // the export stall timeout (TCP_USER_TIMEOUT also bounds a zero window).
        send_timeout_ms: args
            .export_stall_timeout
            .saturating_mul(1000)
            .min(u32::MAX as u64) as u32,
    };
    let server = api::wire::server(
        api::wire::Listen::Address(args.bind.clone()),
        &transport,
        state,
    )
    .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    let handle = server.handle();
    let drain = std::time::Duration::from_secs(args.drain_seconds);
    actix_web::rt::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            log::error!("cannot listen for SIGTERM and SIGINT");
            return;
        };
        let terminated = matches!(
            futures_util::future::select(Box::pin(term.recv()), Box::pin(int.recv())).await,
            futures_util::future::Either::Left(_)
        );
        if terminated && !drain.is_zero() {
            log::info!(
                "SIGTERM: draining for {} s (/readyz fails, connections close after their response)",
                drain.as_secs()
            );
            draining.store(true, std::sync::atomic::Ordering::Release);
            tokio::time::sleep(drain).await;
        }
        log::info!("stopping: no new connections; finishing requests in flight");
        handle.stop(true).await;
    });
    log::info!(
        "serving on http://{} ({}); docs at /docs; {workers} workers, {} connections at most, \
         {} requests in flight at most, rate limit {}",
        args.bind,
        backend.name(),
        per_worker * workers,
        match args.max_in_flight {
            0 => "unlimited".to_string(),
            n => n.to_string(),
        },
        match args.rate_limit {
            0 => "off".to_string(),
            n => format!("{n}/min per client, burst {}", args.rate_limit_burst),
        }
    );
    server.await.map_err(|e| e.to_string())
}
