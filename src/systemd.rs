//! The service manager's notification socket (`sd_notify(3)`), without blocking.
//!
//! `sd_notify::notify` sends on a blocking datagram socket: when the reader falls
//! behind (Linux queues only `net.unix.max_dgram_qlen` datagrams, 10 by default), the
//! send waits, and the tokio worker that called it stops running every task parked on
//! it — fetches included. A notification that cannot be queued now is dropped
//! instead: the next watchdog ping or status line replaces it.

use std::io::{self, ErrorKind};
use std::os::unix::net::UnixDatagram;

pub use sd_notify::NotifyState;

/// Sends `states` to `$NOTIFY_SOCKET` if set; never waits for the reader.
pub fn notify(states: &[NotifyState]) -> io::Result<()> {
    send(states, None)
}

/// Like [`notify`], but waits up to `patience` for room in the queue. Only for the
/// reload handshake: a RELOADING=1 or READY=1 dropped there leaves `systemctl reload`
/// hanging until its timeout. Sent once per reload, it holds its worker at most
/// `patience`, and only while the service manager is not reading.
pub fn notify_waiting(states: &[NotifyState], patience: std::time::Duration) -> io::Result<()> {
    send(states, Some(patience))
}

fn send(states: &[NotifyState], patience: Option<std::time::Duration>) -> io::Result<()> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(());
    };
    let mut msg = String::new();
    for s in states {
        msg.push_str(&s.to_string());
        msg.push('\n');
    }
    let sock = UnixDatagram::unbound()?;
    match patience {
        Some(t) => sock.set_write_timeout(Some(t))?,
        None => sock.set_nonblocking(true)?,
    }
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(name) = bytes.strip_prefix(b"@") {
        // An abstract socket: the name follows the '@' (Linux only).
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            sock.send_to_addr(msg.as_bytes(), &addr)?
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = name;
            return Err(io::Error::new(
                ErrorKind::Unsupported,
                "abstract notify socket",
            ));
        }
    } else {
        sock.send_to(msg.as_bytes(), &path)?
    };
    if sent != msg.len() {
        return Err(io::Error::new(
            ErrorKind::WriteZero,
            "incomplete notification",
        ));
    }
    Ok(())
}

/// systemd's reload handshake (`Type=notify-reload`, systemd 253 and later), sent on
/// SIGHUP: RELOADING=1 with MONOTONIC_USEC at once — systemd only accepts a reload cycle
/// that began after it sent the signal, so the clock is read now — then READY=1 when the
/// new configuration has been applied ([`reload_applied`]) or refused
/// ([`reload_refused`]). `systemctl reload` returns at READY=1, not before. Under
/// `Type=notify` (deploy/veille-systemd252.service) systemd shows "reloading" meanwhile.
pub fn reload_begin() {
    let mut msg = vec![
        NotifyState::Reloading,
        NotifyState::Status("reloading the configuration"),
    ];
    msg.extend(NotifyState::monotonic_usec_now().ok());
    let _ = notify_waiting(&msg, HANDSHAKE_PATIENCE);
}

/// How long a reload handshake message waits for room in systemd's queue.
const HANDSHAKE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// Ends the reload cycle: the new configuration is in force.
pub fn reload_applied() {
    let _ = notify_waiting(
        &[
            NotifyState::Ready,
            NotifyState::Status("configuration reloaded"),
        ],
        HANDSHAKE_PATIENCE,
    );
}

/// Ends the reload cycle: the new configuration had `problems` and the running one stays.
pub fn reload_refused(problems: usize) {
    let status = format!(
        "reload refused: {problems} problem(s) in the configuration (see the journal); the running one stays in force"
    );
    let _ = notify_waiting(
        &[NotifyState::Ready, NotifyState::Status(&status)],
        HANDSHAKE_PATIENCE,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that never reads: the sender must not wait once the queue is full.
    #[test]
    fn a_full_queue_drops_the_notification_instead_of_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let reader = UnixDatagram::bind(&path).unwrap();
        // SAFETY: this test is the only one in the crate touching NOTIFY_SOCKET.
        unsafe { std::env::set_var("NOTIFY_SOCKET", &path) };
        // On a thread, so that a blocking send fails the test instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let refused = (0..2_000)
                .filter(|_| notify(&[NotifyState::Watchdog]).is_err())
                .count();
            tx.send(refused).unwrap();
        });
        let refused = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("notify blocked on a full queue");
        unsafe { std::env::remove_var("NOTIFY_SOCKET") };
        assert!(refused > 0, "a queue never fills at 2,000 datagrams?");
        let mut buf = [0u8; 64];
        let n = reader.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1\n");
    }
}
