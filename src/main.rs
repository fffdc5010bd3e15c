use clap::Parser;

#[actix_web::main]
async fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    if let Err(message) = institute_registry::run(institute_registry::config::Cli::parse()).await {
        eprintln!("institute-registry: {message}");
        std::process::exit(1);
    }
}
