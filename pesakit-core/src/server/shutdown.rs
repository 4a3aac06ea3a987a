//! Stopping: the default signal, and draining connections by deadline.

use std::time::Duration;

use tokio::sync::{Semaphore, watch};

/// Completes on Ctrl-C, or on SIGTERM on Unix (what orchestrators send).
pub(super) async fn terminate_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C; stop the server with its shutdown future");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("Ctrl-C received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}

/// Tells every connection to finish its request and close, then waits for
/// all of them — each holds one of `capacity` permits — up to `deadline`.
pub(super) async fn drain(connections: &Semaphore, capacity: usize, stop: &watch::Sender<bool>, deadline: Duration) {
    let open = capacity - connections.available_permits();
    tracing::info!(open, ?deadline, "no longer accepting; finishing in-flight requests");
    stop.send_replace(true);
    let all_closed = connections.acquire_many(u32::try_from(capacity).unwrap_or(u32::MAX));
    match tokio::time::timeout(deadline, all_closed).await {
        Ok(_) => tracing::info!("every connection closed; stopped"),
        Err(_) => tracing::warn!(
            still_open = capacity - connections.available_permits(),
            "shutdown deadline passed; dropping the connections still open"
        ),
    }
}
