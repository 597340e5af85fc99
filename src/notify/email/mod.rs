//! `kind = "email"`: alerts by SMTP through lettre — implicit TLS (`smtps://`),
//! STARTTLS (`smtp://…?tls=required`) or plain for a local relay (`smtp://localhost:25`).
//!
//! Where an email is built: [`build_message`]. Mention text only ever reaches the HTML
//! part through minijinja's auto-escaping, and the subject through [`text::single_line`].
//!
//! Over 500 lines: the alert e-mail (headers, threading, Message-ID, text and HTML parts)
//! and its SMTP transport are one message's construction; the digest e-mail is in
//! `digest.rs`, the templates in `templates.rs`, the tests in `tests.rs`.

mod digest;
mod templates;

pub use digest::{build_digest, render_digest};

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minijinja::Environment;
use serde::Deserialize;
use toml::Spanned;

use super::view::{Locale, View};
use super::{DeliveryError, load_secret};
use crate::model::Alert;
use crate::model::Duration;
use crate::model::Severity;
use crate::model::diag::SourceFile;
use crate::text;
use templates::{bundled_env, templates_from};

/// Settings of a `kind = "email"` notifier.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// `smtps://user@smtp.example.org:465`, `smtp://user@smtp.example.org:587?tls=required`
    /// or `smtp://localhost:25`. No password here: use `password_file` or `password_env`.
    pub smtp_url: Spanned<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// Sender, e.g. `veille@example.org` or `"Veille <veille@example.org>"`.
    pub from: Spanned<String>,
    /// Recipients.
    pub to: Vec<Spanned<String>>,
    /// Time allowed for one SMTP exchange (default 30s).
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Language of the messages: "en" (default) or "fr".
    #[serde(default)]
    pub locale: Locale,
    /// A directory whose `alert.html` / `alert.txt` replace the bundled templates (same
    /// context: see the bundled ones in src/notify/templates/).
    #[serde(default)]
    pub templates_dir: Option<PathBuf>,
    /// List-Id header, so mail rules can file alerts (default: "veille <alerts.DOMAIN>",
    /// DOMAIN from `from`).
    #[serde(default)]
    pub list_id: Option<String>,
    /// A PEM file of extra root certificates to trust, for a relay whose certificate is
    /// signed by a private CA (`smtps://` or `tls=required|opportunistic` only). The
    /// system's roots stay trusted; certificate checking is never turned off.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// How the connection is secured, from the scheme and `?tls=` of `smtp_url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsMode {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `?tls=required`: STARTTLS or fail.
    Required,
    /// `?tls=opportunistic`: STARTTLS when offered.
    Opportunistic,
    None,
}

impl TlsMode {
    fn of(url: &url::Url) -> TlsMode {
        if url.scheme() == "smtps" {
            return TlsMode::Implicit;
        }
        match url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .as_ref()
            .map(|(_, v)| v.as_ref())
        {
            Some("required") => TlsMode::Required,
            Some("opportunistic") => TlsMode::Opportunistic,
            _ => TlsMode::None,
        }
    }
}

pub struct Email {
    /// URL without credentials; the transport is built at first use, inside the runtime
    /// (lettre's connection pool spawns a task when built).
    url: String,
    credentials: Option<(String, crate::model::Secret)>,
    timeout: Duration,
    tls: TlsMode,
    host: String,
    /// PEM of `ca_file`, checked when the config was loaded.
    extra_roots: Option<Vec<u8>>,
    transport: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub server: String,
    pub style: Style,
}

/// How the messages of one notifier look: language, templates, List-Id.
#[derive(Clone)]
pub struct Style {
    pub locale: Locale,
    /// Zone of the times in messages (`[daemon] timezone`).
    pub tz: chrono_tz::Tz,
    pub list_id: String,
    env: Arc<Environment<'static>>,
}

impl Style {
    /// The bundled templates in `locale`.
    pub fn bundled(locale: Locale, domain: &str) -> Style {
        Style {
            locale,
            tz: chrono_tz::Tz::UTC,
            list_id: format!("veille <alerts.{domain}>"),
            env: bundled_env(),
        }
    }
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish()
    }
}

fn mailbox(file: &mut SourceFile<'_>, s: &Spanned<String>) -> Option<Mailbox> {
    match s.get_ref().parse::<Mailbox>() {
        Ok(m) => Some(m),
        Err(e) => {
            file.error(
                s.span(),
                format!("invalid e-mail address `{}`: {e}", s.get_ref()),
            );
            None
        }
    }
}

impl EmailConfig {
    pub fn build(self, file: &mut SourceFile<'_>, base_dir: &Path) -> Option<Email> {
        let span = self.smtp_url.span();
        // Every problem is reported in one run: the sender, recipients, templates and
        // List-Id are checked whatever the server address says, and the notifier is
        // dropped at the end if anything failed.
        let mut bad = false;
        let from = mailbox(file, &self.from);
        if self.to.is_empty() {
            file.error(
                span.clone(),
                "`to` is empty: expected at least one recipient",
            );
            bad = true;
        }
        let to: Vec<Option<Mailbox>> = self.to.iter().map(|t| mailbox(file, t)).collect();
        let env = match &self.templates_dir {
            None => Some(bundled_env()),
            Some(dir) => match templates_from(&base_dir.join(dir)) {
                Ok(env) => Some(env),
                Err(e) => {
                    file.error(span.clone(), e);
                    None
                }
            },
        };
        if let Some(l) = &self.list_id
            && l.chars().any(char::is_control)
        {
            file.error(
                span.clone(),
                "list_id must be one line, without control characters",
            );
            bad = true;
        }
        let url = match url::Url::parse(self.smtp_url.get_ref()) {
            Ok(u) if matches!(u.scheme(), "smtp" | "smtps") && u.host_str().is_some() => u,
            _ => {
                file.error(
                    span,
                    "invalid smtp_url: expected smtps://user@host:465, smtp://user@host:587?tls=required or smtp://host:25",
                );
                return None;
            }
        };
        if url.password().is_some() {
            file.error(
                span,
                "smtp_url must not contain the password: put it in a file named by password_file (or an environment variable named by password_env)",
            );
            return None;
        }
        let password = load_secret(
            file,
            span.clone(),
            "password",
            self.password_file.clone(),
            self.password_env.clone(),
            base_dir,
        )?;
        let user = percent_decode(url.username());
        if !user.is_empty() && password.is_none() {
            file.error(
                span,
                format!("smtp_url names the user `{user}`: set password_file or password_env"),
            );
            return None;
        }
        if bad {
            return None;
        }
        let from = from?;
        let to: Vec<Mailbox> = to.into_iter().collect::<Option<_>>()?;
        let env = env?;
        let domain = from.email.domain().to_string();
        let list_id = self
            .list_id
            .clone()
            .unwrap_or_else(|| format!("veille <alerts.{domain}>"));
        let mut clean = url.clone();
        let _ = clean.set_username("");
        if let Err(e) = AsyncSmtpTransport::<Tokio1Executor>::from_url(clean.as_str()) {
            file.error(span, format!("invalid smtp_url: {e}"));
            return None;
        }
        let tls = TlsMode::of(&url);
        let extra_roots = match &self.ca_file {
            None => None,
            Some(_) if tls == TlsMode::None => {
                file.error(
                    span,
                    "ca_file is set but smtp_url uses no TLS: use smtps://… or add ?tls=required",
                );
                return None;
            }
            Some(path) => {
                let path = base_dir.join(path);
                match read_roots(&path, url.host_str().unwrap_or_default()) {
                    Ok(pem) => Some(pem),
                    Err(e) => {
                        file.error(span, format!("ca_file {}: {e}", path.display()));
                        return None;
                    }
                }
            }
        };
        Some(Email {
            url: clean.to_string(),
            credentials: password.map(|pw| (user, pw)),
            timeout: self.timeout.unwrap_or(Duration::from_secs(30)),
            tls,
            host: url.host_str().unwrap_or_default().to_string(),
            extra_roots,
            transport: OnceLock::new(),
            from,
            to,
            server: format!(
                "{}:{}",
                url.host_str().unwrap_or_default(),
                url.port().map(|p| p.to_string()).unwrap_or_default()
            ),
            style: Style {
                locale: self.locale,
                tz: chrono_tz::Tz::UTC,
                list_id,
                env,
            },
        })
    }
}

/// Reads a PEM file and checks that it makes a TLS configuration, as delivery will: a
/// bad certificate is a config error now, not a failed alert later.
fn read_roots(path: &Path, host: &str) -> Result<Vec<u8>, String> {
    let pem = std::fs::read(path).map_err(|e| e.to_string())?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err("expected PEM certificates (-----BEGIN CERTIFICATE-----)".into());
    }
    let cert = Certificate::from_pem(&pem).map_err(|e| format!("not a usable certificate: {e}"))?;
    TlsParameters::builder(host.to_string())
        .add_root_certificate(cert)
        .build_rustls()
        .map_err(|e| format!("not a usable certificate: {e}"))?;
    Ok(pem)
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("u={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl Email {
    fn transport(&self) -> Result<&AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
        if let Some(t) = self.transport.get() {
            return Ok(t);
        }
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::from_url(&self.url)
            .map_err(|e| DeliveryError::permanent(format!("invalid smtp_url: {e}")))?;
        if let Some((user, pw)) = &self.credentials {
            b = b.credentials(Credentials::new(user.clone(), pw.expose().to_string()));
        }
        if let Some(pem) = &self.extra_roots {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| DeliveryError::permanent(format!("ca_file: {e}")))?;
            let params = TlsParameters::builder(self.host.clone())
                .add_root_certificate(cert)
                .build_rustls()
                .map_err(|e| DeliveryError::permanent(format!("TLS setup: {e}")))?;
            b = b.tls(match self.tls {
                TlsMode::Implicit => Tls::Wrapper(params),
                TlsMode::Required => Tls::Required(params),
                TlsMode::Opportunistic => Tls::Opportunistic(params),
                TlsMode::None => Tls::None,
            });
        }
        Ok(self
            .transport
            .get_or_init(|| b.timeout(Some(self.timeout.std())).build()))
    }

    pub async fn send(&self, alert: &Alert, origin: Origin<'_>) -> Result<(), DeliveryError> {
        let msg = build_message(alert, &self.from, &self.to, &self.style, origin)
            .map_err(|e| DeliveryError::permanent(format!("cannot build the e-mail: {e}")))?;
        self.send_message(msg).await
    }

    /// Sender, recipients and style, for `veille digest --dry-run FILE.eml`.
    pub fn parts(&self) -> (&Mailbox, &[Mailbox], &Style) {
        (&self.from, &self.to, &self.style)
    }

    pub async fn send_digest(
        &self,
        d: &crate::model::digest::DigestData,
        origin: Origin<'_>,
    ) -> Result<(), DeliveryError> {
        let msg = build_digest(d, &self.from, &self.to, &self.style, origin)
            .map_err(|e| DeliveryError::permanent(format!("cannot build the digest: {e}")))?;
        self.send_message(msg).await
    }

    async fn send_message(&self, msg: Message) -> Result<(), DeliveryError> {
        match self.transport()?.send(msg).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let text = crate::crawl::fetch::error_chain(&e);
                if e.is_permanent() {
                    Err(DeliveryError::permanent(format!(
                        "SMTP server {} refused the message: {text}",
                        self.server
                    )))
                } else {
                    Err(DeliveryError::retryable(format!(
                        "SMTP server {}: {text}",
                        self.server
                    )))
                }
            }
        }
    }
}

pub fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#d93025",
        Severity::Warning => "#e37400",
        Severity::Info => "#1a73e8",
    }
}

/// Subject line: status, severity, brand, rule, why — one line, no control characters.
/// Updates and resolutions say so, and mail clients thread them under the first alert.
pub fn subject(alert: &Alert, locale: Locale) -> String {
    let v = View::new(alert, locale);
    let status = match (alert.status, locale) {
        (crate::model::Status::New, _) => "",
        (crate::model::Status::Update, Locale::En) => "Update: ",
        (crate::model::Status::Update, Locale::Fr) => "Mise à jour\u{a0}: ",
        (crate::model::Status::Resolved, Locale::En) => "Resolved: ",
        (crate::model::Status::Resolved, Locale::Fr) => "Résolu\u{a0}: ",
    };
    let clean: String = format!("{status}{}", v.headline)
        .chars()
        .filter(|c| !crate::notify::chat::is_bidi_control(*c))
        .collect();
    text::truncate(&text::single_line(&clean), 200)
}

/// Who sends a message: the installation (its id, made when the state database was
/// created) and the notifier. Both go into Message-IDs, so two installations, or an
/// English and a French notifier, never send the same Message-ID for different messages.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub installation: &'a str,
    pub notifier: &'a str,
}

/// Message-ID of the first e-mail of an incident: the thread's root, one per incident,
/// notifier and installation.
pub fn thread_id(alert: &Alert, domain: &str, origin: Origin<'_>) -> String {
    let thread = format!(
        "{}\0{}\0{}",
        origin.installation, origin.notifier, alert.incident_key
    );
    format!(
        "<{}@{domain}>",
        crate::mention::hash_id("incident", &thread)
    )
}

/// Message-ID of an alert's e-mail: the thread's root for the first of an incident,
/// otherwise derived from the delivery's key ([`crate::model::alert::delivery_key`]). The same
/// on a resend of the same delivery (mail systems collapse the copy), different for any
/// other message.
pub fn message_id(alert: &Alert, domain: &str, origin: Origin<'_>) -> String {
    if alert.status == crate::model::Status::New && !alert.incident_key.is_empty() {
        return thread_id(alert, domain, origin);
    }
    let key = crate::model::alert::delivery_key(origin.installation, origin.notifier, &alert.key);
    format!("<{}@{domain}>", crate::mention::hash_id("alert", &key))
}

/// Renders both parts of the alert e-mail.
pub fn render(alert: &Alert, style: &Style) -> Result<(String, String), minijinja::Error> {
    let v = View::new_in(alert, style.locale, &style.tz);
    let ctx = minijinja::context! {
        alert => minijinja::Value::from(minijinja::value::Serde(alert)),
        v => minijinja::Value::from(minijinja::value::Serde(&v)),
        t => minijinja::Value::from(minijinja::value::Serde(style.locale.texts())),
        lang => match style.locale { Locale::En => "en", Locale::Fr => "fr" },
        subject => subject(alert, style.locale),
        color => severity_color(alert.severity),
        more_line => v.more_line(style.locale, v.mentions.len()),
        colon => style.locale.colon(),
    };
    let html = style.env.get_template("alert.html")?.render(&ctx)?;
    let txt = style.env.get_template("alert.txt")?.render(&ctx)?;
    Ok((txt, html))
}

/// Why an e-mail could not be built (a template that does not render, a chart, a
/// header lettre refuses): permanent, sending again builds the same thing.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("template: {0:#}")]
    Template(#[from] minijinja::Error),
    #[error("chart: {0}")]
    Chart(#[from] png::EncodingError),
    #[error(transparent)]
    Message(#[from] lettre::error::Error),
}

/// Builds the multipart (text + HTML) message. The Message-ID derives from the
/// delivery ([`message_id`]): a copy re-sent after a crash is recognised as the same
/// message; updates and the resolution point at the incident's first message.
pub fn build_message(
    alert: &Alert,
    from: &Mailbox,
    to: &[Mailbox],
    style: &Style,
    origin: Origin<'_>,
) -> Result<Message, BuildError> {
    let (txt, html) = render(alert, style)?;
    let domain = from.email.domain().to_string();
    let root = thread_id(alert, &domain, origin);
    let own = message_id(alert, &domain, origin);
    let mut b = Message::builder()
        .from(from.clone())
        .subject(subject(alert, style.locale))
        .date(alert.created_at.into())
        .message_id(Some(own.clone()))
        .header(header::MIME_VERSION_1_0)
        .header(ListId(style.list_id.clone()))
        .header(AutoSubmitted);
    if own != root {
        b = b.in_reply_to(root.clone()).references(root);
    }
    for t in to {
        b = b.to(t.clone());
    }
    Ok(b.multipart(MultiPart::alternative_plain_html(txt, html))?)
}

/// `List-Id:` (RFC 2919), so mail rules can file alerts.
#[derive(Clone)]
pub(super) struct ListId(pub(super) String);

impl header::Header for ListId {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("List-Id")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListId(s.to_string()))
    }
    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): no vacation auto-replies to alerts.
#[derive(Clone)]
pub(super) struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }
    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "auto-generated".into())
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
