use std::io::Write;

/// mimalloc: under a steady mixed load the server's resident memory stays near its working set
/// (glibc's per-thread arenas grew it by half in a minute); measured with scripts/load.sh.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(|buf, record| {
            let message = record.args().to_string();
            // A line written while a request is handled names it, unless it already does.
            let request = institute_registry::api::observe::current_request_id()
                .filter(|_| !message.starts_with("request_id="))
                .map(|id| format!("request_id={id} "))
                .unwrap_or_default();
            writeln!(
                buf,
                "[{} {:<5} {}] {request}{message}",
                buf.timestamp(),
                record.level(),
                record.target()
            )
        })
        .init();
    if let Err(message) =
        institute_registry::run(institute_registry::config::Cli::parse_checked()).await
    {
        eprintln!("institute-registry: {message}");
        std::process::exit(1);
    }
}
