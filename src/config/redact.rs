//! Keeping secrets and control characters out of every text a person or a file sees:
//! error messages, logs, `veille alerts`, the API, the state database.
//!
//! Errors are built without secrets where they are made (no URL in a delivery error, a
//! redirect names only the origin). Beside that, every secret veille reads (a
//! `*_file`/`*_env` value, a session token) is remembered here, and [`scrub`] replaces
//! any copy of it — raw or percent-encoded — by `***`. That catches what no call site can
//! foresee: a receiver whose error page echoes the URL it was called at, an API that
//! quotes the key back. The same pass runs over each log line ([`LogWriter`]), which also
//! escapes control characters so hostile text cannot forge log lines.

use std::collections::VecDeque;
use std::sync::RwLock;

/// Values shorter than this are not scrubbed: they would blank out ordinary words.
const MIN_LEN: usize = 6;
/// Secrets made at run time (session tokens) are kept this many at a time.
const MAX_TRANSIENT: usize = 256;

#[derive(Default)]
struct Registry {
    /// From the configuration: kept for the life of the process.
    fixed: Vec<String>,
    /// Made at run time, most recent last.
    transient: VecDeque<String>,
}

static REGISTRY: RwLock<Registry> = RwLock::new(Registry {
    fixed: Vec::new(),
    transient: VecDeque::new(),
});

/// The forms a secret can take in a text: raw, percent-encoded (in a path) and
/// form-encoded (in a query); a URL also gives its path and its query, which an error
/// page may echo on their own.
fn forms(secret: &str) -> Vec<String> {
    let s = secret.trim();
    let mut out = vec![s.to_string()];
    out.push(url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>());
    out.push(percent_encode(s));
    if let Ok(u) = url::Url::parse(s)
        && matches!(u.scheme(), "http" | "https")
    {
        if u.path().len() > 1 {
            out.push(u.path().to_string());
        }
        if let Some(q) = u.query() {
            out.push(q.to_string());
        }
    }
    out.retain(|f| f.len() >= MIN_LEN);
    out.sort();
    out.dedup();
    out
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Remembers a secret read from the configuration.
pub fn register(secret: &str) {
    let new = forms(secret);
    if new.is_empty() {
        return;
    }
    let mut r = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    for f in new {
        if !r.fixed.contains(&f) {
            r.fixed.push(f);
        }
    }
}

/// Remembers the parts of a notifier URL written in the config that can hold a secret
/// (user info, path, query), so that no log line — veille's or a library's — shows them.
pub fn register_url(url: &url::Url) {
    if url.path().len() > 1 {
        register(url.path());
    }
    if let Some(q) = url.query() {
        register(q);
    }
    if let Some(p) = url.password() {
        register(p);
    }
}

/// Remembers a secret made at run time (a session or OAuth token); only the latest
/// [`MAX_TRANSIENT`] are kept, so hourly token refreshes do not grow without bound.
pub fn register_transient(secret: &str) {
    let new = forms(secret);
    if new.is_empty() {
        return;
    }
    let mut r = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    for f in new {
        if r.fixed.contains(&f) || r.transient.contains(&f) {
            continue;
        }
        if r.transient.len() >= MAX_TRANSIENT {
            r.transient.pop_front();
        }
        r.transient.push_back(f);
    }
}

/// `text` with every known secret replaced by `***`.
pub fn scrub(text: &str) -> String {
    let r = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    let mut out: Option<String> = None;
    // Longest first: a URL goes whole before its path alone is looked for.
    let mut all: Vec<&String> = r.fixed.iter().chain(r.transient.iter()).collect();
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in all {
        let cur = out.as_deref().unwrap_or(text);
        if cur.contains(s.as_str()) {
            out = Some(cur.replace(s.as_str(), "***"));
        }
    }
    out.unwrap_or_else(|| text.to_string())
}

/// What may be said of a URL that can hold a secret (a webhook URL, a bot token in the
/// path, an API key in the query): its scheme, host and port only.
pub fn url_origin(url: &url::Url) -> String {
    match url.host_str() {
        Some(h) => match url.port() {
            Some(p) => format!("{}://{h}:{p}/…", url.scheme()),
            None => format!("{}://{h}/…", url.scheme()),
        },
        None => format!("{}:…", url.scheme()),
    }
}

/// `text` without `url` nor its user info, path or query (a notifier's URL is a secret
/// as a whole: Slack's path, Telegram's token, a key in the query), then [`scrub`]bed.
pub fn scrub_url(text: &str, url: &url::Url) -> String {
    let mut parts: Vec<String> = vec![url.as_str().to_string()];
    if url.path().len() > 1 {
        parts.push(url.path().to_string());
        // Some servers echo the path decoded.
        if let Ok(p) = percent_decode(url.path()) {
            parts.push(p);
        }
    }
    if let Some(q) = url.query() {
        parts.push(q.to_string());
    }
    if !url.username().is_empty() {
        parts.push(url.username().to_string());
    }
    if let Some(p) = url.password() {
        parts.push(p.to_string());
    }
    parts.retain(|p| p.len() >= 2);
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let origin = url_origin(url);
    let mut out = text.to_string();
    for (i, p) in parts.iter().enumerate() {
        if out.contains(p.as_str()) {
            out = out.replace(p.as_str(), if i == 0 { &origin } else { "***" });
        }
    }
    scrub(&out)
}

fn percent_decode(s: &str) -> Result<String, std::string::FromUtf8Error> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(hex) = std::str::from_utf8(&b[i + 1..i + 3])
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out)
}

/// Control characters (line breaks included) written as visible escapes (`\n`, `\u{1b}`),
/// so one value stays on one line whatever it holds. Tabs are kept.
pub fn escape_controls(s: &str) -> String {
    if !s.chars().any(is_escaped) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_escaped(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_escaped(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}')
}

/// The log writer of the text formats: each line (one event) is scrubbed of secrets and
/// keeps its own line — a value holding a line feed or an escape sequence is escaped, so
/// it cannot forge a log line or drive the terminal. The formatter's own colours (ANSI
/// sequences it writes itself) pass when `ansi` is on.
#[derive(Clone, Copy)]
pub struct LogWriter {
    pub ansi: bool,
}

impl LogWriter {
    /// One formatted event, made safe.
    pub fn clean(&self, event: &str) -> String {
        let body = event.strip_suffix('\n').unwrap_or(event);
        let mut out = String::with_capacity(body.len() + 1);
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            // tracing-subscriber escapes the ESC of field values; what remains is its own
            // styling, `ESC [ digits ; m`.
            if self.ansi && c == '\x1b' && chars.peek() == Some(&'[') {
                out.push(c);
                continue;
            }
            if is_escaped(c) {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        let mut out = scrub(&out);
        out.push('\n');
        out
    }
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter hands over one whole event per write.
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(self.clean(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_raw_and_encoded_forms() {
        register("tok:S3CR3T/unit+1");
        let t = "a=tok%3AS3CR3T%2Funit%2B1 b=tok:S3CR3T/unit+1 c=tok%3AS3CR3T%2Funit%2B1";
        assert_eq!(scrub(t), "a=*** b=*** c=***");
        // Short values are not secrets worth blanking words for.
        register("abc");
        assert_eq!(scrub("abc"), "abc");
    }

    #[test]
    fn a_secret_url_goes_whole_or_by_its_path() {
        register("https://hooks.example/services/T0/B0/UNITSECRETPATH");
        assert_eq!(
            scrub("posted to https://hooks.example/services/T0/B0/UNITSECRETPATH: 404"),
            "posted to ***: 404"
        );
        assert_eq!(
            scrub("no such hook /services/T0/B0/UNITSECRETPATH"),
            "no such hook ***"
        );
    }

    #[test]
    fn notifier_urls_are_cut_to_their_origin() {
        let u = url::Url::parse("http://127.0.0.1:8080/bot777:tgX/sendMessage?k=v").unwrap();
        assert_eq!(url_origin(&u), "http://127.0.0.1:8080/…");
        let e = scrub_url(
            "HTTP 500: at http://127.0.0.1:8080/bot777:tgX/sendMessage?k=v (path /bot777:tgX/sendMessage)",
            &u,
        );
        assert_eq!(e, "HTTP 500: at http://127.0.0.1:8080/… (path ***)");
    }

    #[test]
    fn transient_secrets_are_bounded() {
        for i in 0..MAX_TRANSIENT + 10 {
            register_transient(&format!("session-token-{i:04}"));
        }
        let r = REGISTRY.read().unwrap();
        assert!(r.transient.len() <= MAX_TRANSIENT);
        drop(r);
        assert_eq!(scrub("session-token-0000"), "session-token-0000");
        assert_eq!(
            scrub(&format!("session-token-{:04}", MAX_TRANSIENT + 9)),
            "***"
        );
    }

    #[test]
    fn log_lines_cannot_be_forged() {
        let w = LogWriter { ansi: false };
        let line =
            "WARN alert delivery failed alert=c@x (Line\nFeed) FAKE ERROR\r\x1b[2J\u{2028}x\n";
        let clean = w.clean(line);
        assert_eq!(clean.matches('\n').count(), 1, "{clean:?}");
        assert!(clean.ends_with('\n'));
        assert!(clean.contains("(Line\\nFeed)"), "{clean}");
        assert!(
            !clean.contains('\x1b') && !clean.contains('\r'),
            "{clean:?}"
        );
        let coloured = LogWriter { ansi: true }.clean("\x1b[33mWARN\x1b[0m x\n");
        assert_eq!(coloured, "\x1b[33mWARN\x1b[0m x\n");
    }
}
