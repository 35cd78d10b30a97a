use std::process::ExitCode;

// A fast allocator that returns memory to the system: lower latency and a smaller peak RSS
// than the system allocator's per-thread arenas under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use weir_server::cli::{run, Cli};
use weir_server::config::Env;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = Env::from_process();
    let filter = EnvFilter::try_new(env.get("WEIR_LOG").or(env.get("RUST_LOG")).unwrap_or("info"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr (stdout carries command output: a new key, alone on its line), without
    // any secret of the config.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(weir_server::log::SecretFreeStderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if env.get("WEIR_LOG_FORMAT") == Some("json") {
        builder.json().init();
    } else {
        builder.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(cli, env))
}
