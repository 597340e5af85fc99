//! A tiny SMTP receiver for the demo: accepts every message on loopback and keeps it.
//! (The test suite uses a real third-party SMTP server instead.)

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Messages received, raw (headers + body).
pub type Inbox = Arc<Mutex<Vec<String>>>;

/// Largest message accepted, to stay bounded.
const MAX_MESSAGE: usize = 5 << 20;

pub async fn start() -> std::io::Result<(std::net::SocketAddr, Inbox)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let inbox: Inbox = Arc::default();
    let inbox2 = inbox.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let inbox = inbox2.clone();
            tokio::spawn(async move {
                let _ = session(stream, inbox).await;
            });
        }
    });
    Ok((addr, inbox))
}

async fn session(stream: tokio::net::TcpStream, inbox: Inbox) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 veille-demo ESMTP ready\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if cmd.starts_with("EHLO") {
            b"250-veille-demo\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if cmd.starts_with("HELO")
            || cmd.starts_with("MAIL")
            || cmd.starts_with("RCPT")
            || cmd.starts_with("RSET")
            || cmd.starts_with("NOOP")
        {
            b"250 OK\r\n"
        } else if cmd.starts_with("DATA") {
            w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut msg = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                if msg.len() < MAX_MESSAGE {
                    msg.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
            }
            inbox.lock().unwrap().push(msg);
            b"250 OK queued\r\n"
        } else if cmd.starts_with("QUIT") {
            w.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 Command not implemented\r\n"
        };
        w.write_all(reply).await?;
    }
}
