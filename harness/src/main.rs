//! The `pgdrill` binary: parses arguments, installs signal handling, hands over to the library.
use std::io::Write;

use clap::Parser;
use tokio_util::sync::CancellationToken;

use pgdrill::cli::{dispatch, Cli};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PGDRILL_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: failed to start the async runtime: {e}");
            return std::process::ExitCode::from(3);
        }
    };
    let code = runtime.block_on(async {
        let (cancel, abort) = (CancellationToken::new(), CancellationToken::new());
        tokio::spawn(cancel_on_signal(cancel.clone(), abort.clone()));
        dispatch(cli, cancel, abort).await
    });
    std::process::ExitCode::from(code as u8)
}

/// Ctrl-C or SIGTERM (nextest's timeout, `kill`, `docker stop`) cancels the run, which then tears
/// down first and writes what report it can; a second signal fires `abort` (an attached run stops
/// healing, says what is still in effect and ends), removes every container and network this
/// process created (a bounded sweep by its owner labels) and exits within the sweep's bound.
async fn cancel_on_signal(cancel: CancellationToken, abort: CancellationToken) {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return,
    };
    for round in 0..2 {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        if round == 0 {
            // Not eprintln!: a closed stderr must not panic this task and leave the run uncancelled.
            let _ = writeln!(
                std::io::stderr(),
                "pgdrill: signal received, tearing down (press Ctrl-C again to exit sooner)"
            );
            cancel.cancel();
        } else {
            let _ = writeln!(
                std::io::stderr(),
                "pgdrill: second signal, no more healing; removing this process's containers and exiting"
            );
            abort.cancel();
            // Under the ~10 s after which nextest and `docker stop` send SIGKILL. An attached
            // run's report (with what is left unhealed) is written meanwhile: it has at least 2 s,
            // and the process ends sooner when it is done.
            let sweep = pgdrill::runtime::sweep_mine(std::time::Duration::from_secs(6));
            let (outcome, ()) = tokio::join!(sweep, tokio::time::sleep(std::time::Duration::from_secs(2)));
            let _ = writeln!(std::io::stderr(), "pgdrill: {outcome}");
            std::process::exit(130);
        }
    }
}
