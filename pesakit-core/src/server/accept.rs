//! What a failed `accept` means for the accept loop.

use std::io;
use std::time::Duration;

use super::backoff::Backoff;

/// How the accept loop treats a failed `accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AcceptFailure {
    /// One connection failed before it was accepted (reset in the backlog,
    /// a network error reported on the new socket): skip it and go on, so
    /// that no client can pause the server.
    Connection,
    /// Out of file descriptors, buffers or memory: pause, so that
    /// connections closing can free some.
    Exhausted,
    /// Anything else: the listener itself is failing. Pause rather than
    /// spin, and report it as the fault it is.
    Listener,
}

impl AcceptFailure {
    fn of(error: &io::Error) -> Self {
        use io::ErrorKind;
        match error.kind() {
            ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionRefused
            | ErrorKind::Interrupted
            | ErrorKind::WouldBlock => return Self::Connection,
            ErrorKind::OutOfMemory => return Self::Exhausted,
            _ => {}
        }
        match error.raw_os_error() {
            Some(code) if CONNECTION_ERRORS.contains(&code) => Self::Connection,
            Some(code) if EXHAUSTION_ERRORS.contains(&code) => Self::Exhausted,
            _ => Self::Listener,
        }
    }
}

/// Logs a failed `accept` and says how long to pause before the next: not
/// at all when one connection failed, so that no client can pause the
/// server.
pub(super) fn pause_after(error: &io::Error, backoff: &mut Backoff) -> Option<Duration> {
    match AcceptFailure::of(error) {
        AcceptFailure::Connection => {
            tracing::debug!(%error, "a connection failed before it was accepted; skipped");
            None
        }
        AcceptFailure::Exhausted => {
            let pause = backoff.pause();
            tracing::warn!(%error, ?pause, "out of resources to accept connections; pausing");
            Some(pause)
        }
        AcceptFailure::Listener => {
            let pause = backoff.pause();
            tracing::error!(%error, ?pause, "the listener failed to accept; pausing");
            Some(pause)
        }
    }
}

/// The errors Linux's `accept(2)` passes on from the new connection, which
/// its manual says to treat as "try again", and a firewall's refusal.
#[cfg(unix)]
const CONNECTION_ERRORS: &[i32] = &[
    libc::EPROTO,
    libc::ENETDOWN,
    libc::ENOPROTOOPT,
    libc::EHOSTDOWN,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    libc::ENONET,
    libc::EHOSTUNREACH,
    libc::EOPNOTSUPP,
    libc::ENETUNREACH,
    libc::EPERM,
];

#[cfg(unix)]
const EXHAUSTION_ERRORS: &[i32] = &[libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM];

#[cfg(not(unix))]
const CONNECTION_ERRORS: &[i32] = &[];

#[cfg(not(unix))]
const EXHAUSTION_ERRORS: &[i32] = &[];

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_connection_reset_in_the_backlog_is_skipped() {
        for error in [
            io::Error::from(io::ErrorKind::ConnectionAborted),
            io::Error::from(io::ErrorKind::ConnectionReset),
            io::Error::from_raw_os_error(libc::ECONNABORTED),
            io::Error::from_raw_os_error(libc::EPROTO),
            io::Error::from_raw_os_error(libc::ENETUNREACH),
            io::Error::from_raw_os_error(libc::EPERM),
        ] {
            assert_eq!(AcceptFailure::of(&error), AcceptFailure::Connection, "{error}");
        }
    }

    #[test]
    fn running_out_of_descriptors_buffers_or_memory_pauses() {
        for code in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            let error = io::Error::from_raw_os_error(code);
            assert_eq!(AcceptFailure::of(&error), AcceptFailure::Exhausted, "{error}");
        }
    }

    #[test]
    fn a_broken_listener_is_neither() {
        for code in [libc::EBADF, libc::EINVAL, libc::ENOTSOCK] {
            let error = io::Error::from_raw_os_error(code);
            assert_eq!(AcceptFailure::of(&error), AcceptFailure::Listener, "{error}");
        }
    }
}
