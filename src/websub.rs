//! WebSub (W3C, formerly PubSubHubbub): push for feeds that advertise a hub.
//!
//! When `[daemon] public_url` is set, a feed whose HTTP `Link` header or `<link rel="hub">`
//! names a hub is subscribed to (its `rel="self"` URL is the topic). The hub checks our
//! intent with a GET on the callback (we echo the challenge), then POSTs new content,
//! signed with `X-Hub-Signature` (HMAC of the body with our per-subscription secret):
//! verified in constant time, then parsed and sent into the same ingest pipeline as a
//! poll. Subscriptions are renewed before their lease lapses, and the feed is still polled
//! at a slow interval as a safety net.
//!
//! Over 500 lines with its tests (about 500 of code): subscribe, verify, renew and
//! deliver form one protocol.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::HeaderMap;
use tokio::sync::mpsc;
use tracing::{error, info, warn};
use url::Url;

use crate::clock::Clock;
use crate::crawl::{AllowPrivate, Http};
use crate::ingest::Message;
use crate::model::{Event, Poll};
use crate::sources::{Source, SourceKind};
use crate::store::state::{State, SubscriptionRow};

/// Why a subscription could not be loaded or asked for.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error(transparent)]
    PrivateAddress(#[from] crate::crawl::guard::PrivateAddress),
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error("hub {hub} answered HTTP {status}: {body}")]
    Refused { hub: Url, status: u16, body: String },
}

/// Lease asked from hubs (they may grant another).
const LEASE: StdDuration = StdDuration::from_secs(7 * 86_400);
/// An unverified request older than this is sent again.
const PENDING_RETRY: chrono::Duration = chrono::Duration::hours(1);

/// Random lowercase hex from the OS's CSPRNG (callback tokens, secrets).
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random number generator");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks `X-Hub-Signature: <algo>=<hex>` against the body, in constant time.
pub fn verify_signature(secret: &str, header: &str, body: &[u8]) -> bool {
    let Some((algo, hex)) = header.trim().split_once('=') else {
        return false;
    };
    let Some(expected) = hex_decode(hex.trim()) else {
        return false;
    };
    let key = secret.as_bytes();
    macro_rules! check {
        ($h:ty) => {{
            let Ok(mut mac) = <Hmac<$h> as KeyInit>::new_from_slice(key) else {
                return false;
            };
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        }};
    }
    match algo.to_ascii_lowercase().as_str() {
        "sha1" => check!(sha1::Sha1),
        "sha256" => check!(sha2::Sha256),
        "sha384" => check!(sha2::Sha384),
        "sha512" => check!(sha2::Sha512),
        _ => false,
    }
}

/// One subscription (a row of the `websub` table).
#[derive(Debug, Clone)]
pub struct Subscription {
    pub token: String,
    pub source: String,
    pub hub: Url,
    pub topic: Url,
    pub secret: String,
    pub requested_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    pub lease_until: Option<DateTime<Utc>>,
}

impl Subscription {
    fn active(&self, now: DateTime<Utc>) -> bool {
        self.verified_at.is_some() && self.lease_until.is_some_and(|l| l > now)
    }

    /// Renew when less than a tenth of the lease (at most a day) remains, unless a
    /// renewal asked for recently still awaits the hub's verification.
    fn needs_renewal(&self, now: DateTime<Utc>) -> bool {
        match (self.verified_at, self.lease_until) {
            (Some(v), Some(l)) => {
                let margin = ((l - v) / 10).min(chrono::Duration::days(1));
                let asking = self.requested_at > v && now - self.requested_at < PENDING_RETRY;
                l - now < margin && !asking
            }
            _ => now - self.requested_at > PENDING_RETRY,
        }
    }
}

/// Outcome of a verification request from a hub.
pub enum Verification {
    /// Reply 200 with this body (the challenge).
    Confirm(String),
    /// Reply 404: we did not ask for this.
    Unknown,
}

/// Subscriptions, shared by the scheduler (subscribe/renew) and the HTTP callback.
pub struct Registry {
    pub public_url: Url,
    http: Http,
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
    subs: Mutex<HashMap<String, Subscription>>,
    /// The configured sources; replaced on reload so pushes reach new sources.
    sources: std::sync::RwLock<HashMap<String, Arc<Source>>>,
    tx: mpsc::Sender<Message>,
    /// Polling interval of a pushed feed (safety net).
    pub safety_poll: StdDuration,
}

impl Registry {
    pub fn load(
        public_url: Url,
        http: Http,
        state: Arc<Mutex<State>>,
        clock: Arc<dyn Clock>,
        sources: &[Arc<Source>],
        tx: mpsc::Sender<Message>,
        safety_poll: StdDuration,
    ) -> Result<Arc<Registry>, Error> {
        let rows = state.lock().unwrap().subscriptions()?;
        let subs = rows
            .into_iter()
            .filter_map(|r| {
                let (Ok(hub), Ok(topic)) = (Url::parse(&r.hub), Url::parse(&r.topic)) else {
                    return None;
                };
                Some((
                    r.token.clone(),
                    Subscription {
                        token: r.token,
                        source: r.source,
                        hub,
                        topic,
                        secret: r.secret,
                        requested_at: r.requested_at,
                        verified_at: r.verified_at,
                        lease_until: r.lease_until,
                    },
                ))
            })
            .collect();
        Ok(Arc::new(Registry {
            public_url,
            http,
            state,
            clock,
            subs: Mutex::new(subs),
            sources: std::sync::RwLock::new(
                sources.iter().map(|s| (s.id.clone(), s.clone())).collect(),
            ),
            tx,
            safety_poll,
        }))
    }

    /// After a reload: pushes go to the new definitions, and subscriptions of sources
    /// that are gone are forgotten (the hub's next push gets 410 Gone, which ends it).
    pub fn set_sources(&self, sources: &[Arc<Source>]) {
        let map: HashMap<_, _> = sources.iter().map(|s| (s.id.clone(), s.clone())).collect();
        let gone: Vec<String> = self
            .subs
            .lock()
            .unwrap()
            .values()
            .filter(|s| !map.contains_key(&s.source))
            .map(|s| s.token.clone())
            .collect();
        for token in gone {
            self.forget(&token);
        }
        *self.sources.write().unwrap() = map;
    }

    fn callback(&self, token: &str) -> String {
        format!(
            "{}/websub/{token}",
            self.public_url.as_str().trim_end_matches('/')
        )
    }

    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.subs.lock().unwrap().values().cloned().collect()
    }

    fn persist(&self, s: &Subscription) {
        let row = SubscriptionRow {
            token: s.token.clone(),
            source: s.source.clone(),
            hub: s.hub.to_string(),
            topic: s.topic.to_string(),
            secret: s.secret.clone(),
            requested_at: s.requested_at,
            verified_at: s.verified_at,
            lease_until: s.lease_until,
        };
        if let Err(e) = self.state.lock().unwrap().save_subscription(&row) {
            warn!(source = %s.source, error = %e, "cannot save the WebSub subscription");
        }
    }

    fn forget(&self, token: &str) {
        self.subs.lock().unwrap().remove(token);
        if let Err(e) = self.state.lock().unwrap().forget_subscription(token) {
            warn!(error = %e, "cannot forget a WebSub subscription");
        }
    }

    /// Called after each successful poll: (re)subscribes when the feed advertises a hub
    /// and no live subscription covers it. Returns the minimum interval before the next
    /// poll while a subscription is active.
    pub fn after_poll(self: &Arc<Self>, source: &Source, poll: &Poll) -> Option<StdDuration> {
        let now = self.clock.now();
        let current = self
            .subs
            .lock()
            .unwrap()
            .values()
            .find(|s| s.source == source.id)
            .cloned();
        let hub = poll
            .hub
            .clone()
            .or_else(|| current.as_ref().map(|c| (c.hub.clone(), c.topic.clone())));
        let Some((hub, topic)) = hub else {
            return None;
        };
        let renew = match &current {
            None => true,
            Some(c) => c.needs_renewal(now) || c.hub != hub || c.topic != topic,
        };
        if renew {
            let me = self.clone();
            let source_id = source.id.clone();
            let allow_private = source.allow_private;
            let old = current.as_ref().map(|c| c.token.clone());
            tokio::spawn(async move {
                if let Err(e) = me
                    .subscribe(&source_id, hub, topic, allow_private, old)
                    .await
                {
                    warn!(source = %source_id, error = %e, "WebSub subscription failed; polling continues");
                }
            });
        }
        current.filter(|c| c.active(now)).map(|_| self.safety_poll)
    }

    /// Renews the subscriptions whose lease is about to lapse, whether or not their feed
    /// was polled lately (the daemon calls it every few minutes). Returns how many
    /// renewals were requested.
    pub fn renew_due(self: &Arc<Self>) -> usize {
        let now = self.clock.now();
        let due: Vec<Subscription> = self
            .subs
            .lock()
            .unwrap()
            .values()
            .filter(|s| s.verified_at.is_some() && s.needs_renewal(now))
            .cloned()
            .collect();
        let mut n = 0;
        for sub in due {
            let Some(source) = self.sources.read().unwrap().get(&sub.source).cloned() else {
                continue;
            };
            n += 1;
            let me = self.clone();
            tokio::spawn(async move {
                let id = sub.source.clone();
                if let Err(e) = me
                    .subscribe(
                        &id,
                        sub.hub,
                        sub.topic,
                        source.allow_private,
                        Some(sub.token),
                    )
                    .await
                {
                    warn!(source = %id, error = %e, "WebSub renewal failed; polling continues");
                }
            });
        }
        n
    }

    /// Sends a subscription request to the hub (reusing the token of a renewal).
    pub async fn subscribe(
        &self,
        source: &str,
        hub: Url,
        topic: Url,
        allow_private: AllowPrivate,
        token: Option<String>,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let previous = token
            .as_ref()
            .and_then(|t| self.subs.lock().unwrap().get(t).cloned());
        let sub = Subscription {
            token: token.unwrap_or_else(|| random_hex(16)),
            source: source.to_string(),
            hub: hub.clone(),
            topic: topic.clone(),
            secret: previous
                .as_ref()
                .map(|p| p.secret.clone())
                .unwrap_or_else(|| random_hex(24)),
            requested_at: now,
            verified_at: previous.as_ref().and_then(|p| p.verified_at),
            lease_until: previous.as_ref().and_then(|p| p.lease_until),
        };
        // Known before the hub calls back to verify — unless a reload removed the source
        // while this request was on its way.
        if !self.sources.read().unwrap().contains_key(source) {
            return Ok(());
        }
        self.subs
            .lock()
            .unwrap()
            .insert(sub.token.clone(), sub.clone());
        self.persist(&sub);
        self.http.check_url(allow_private, &hub)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("hub.callback", &self.callback(&sub.token))
            .append_pair("hub.mode", "subscribe")
            .append_pair("hub.topic", topic.as_str())
            .append_pair("hub.lease_seconds", &LEASE.as_secs().to_string())
            .append_pair("hub.secret", &sub.secret)
            .finish();
        let resp = self
            .http
            .client(allow_private)
            .post(hub.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Error::Refused {
                hub,
                status: status.as_u16(),
                body: crate::text::truncate(
                    &crate::text::single_line(&resp.text().await.unwrap_or_default()),
                    200,
                ),
            });
        }
        info!(source = %source, hub = %hub, topic = %topic, "WebSub subscription requested");
        Ok(())
    }

    /// The hub's verification of intent (GET on the callback).
    pub fn verify(&self, token: &str, query: &HashMap<String, String>) -> Verification {
        let now = self.clock.now();
        let mode = query
            .get("hub.mode")
            .map(String::as_str)
            .unwrap_or_default();
        let topic = query
            .get("hub.topic")
            .map(String::as_str)
            .unwrap_or_default();
        let Some(mut sub) = self.subs.lock().unwrap().get(token).cloned() else {
            return Verification::Unknown;
        };
        match mode {
            "subscribe" if topic == sub.topic.as_str() => {
                let Some(challenge) = query.get("hub.challenge") else {
                    return Verification::Unknown;
                };
                let lease = query
                    .get("hub.lease_seconds")
                    .and_then(|l| l.parse::<i64>().ok())
                    .unwrap_or(LEASE.as_secs() as i64)
                    // A hub's lease is a few days; anything wild is cut (and cannot
                    // overflow the date).
                    .clamp(60, 365 * 24 * 3600);
                sub.verified_at = Some(now);
                sub.lease_until = Some(now + chrono::Duration::seconds(lease));
                self.subs
                    .lock()
                    .unwrap()
                    .insert(token.to_string(), sub.clone());
                self.persist(&sub);
                info!(source = %sub.source, lease_seconds = lease, "WebSub subscription verified");
                Verification::Confirm(challenge.clone())
            }
            "denied" => {
                warn!(source = %sub.source, reason = query.get("hub.reason").map(String::as_str).unwrap_or(""),
                      "WebSub hub denied the subscription; polling continues");
                self.forget(token);
                Verification::Confirm(String::new())
            }
            // We never unsubscribe on our own: refuse anything else.
            _ => Verification::Unknown,
        }
    }

    /// Content distribution (POST on the callback). Returns the HTTP status to answer.
    #[allow(irrefutable_let_patterns)] // more source kinds come
    pub async fn deliver(&self, token: &str, headers: &HeaderMap, body: &[u8]) -> u16 {
        let Some(sub) = self.subs.lock().unwrap().get(token).cloned() else {
            return 410; // ends a subscription we do not know
        };
        let signature = headers
            .get("x-hub-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !verify_signature(&sub.secret, signature, body) {
            warn!(source = %sub.source, "WebSub content with a missing or wrong signature: ignored");
            return 202;
        }
        let Some(source) = self.sources.read().unwrap().get(&sub.source).cloned() else {
            return 410;
        };
        let SourceKind::Rss(rss) = &source.kind else {
            return 410;
        };
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        match crate::sources::rss::parse_feed_limited(
            body,
            content_type,
            &rss.url,
            &source.id,
            &rss.strip_params,
            self.clock.now(),
            self.http.limits.max_text(),
        ) {
            Ok(parsed) => {
                info!(source = %source.id, items = parsed.mentions.len(), "WebSub content received");
                for f in &parsed.failed {
                    crate::metrics::item_failed(&source.id, f.stage);
                    error!(source = %source.id, url = %f.url, stage = f.stage, error = %f.error,
                           "pushed item failed: skipped, the rest goes on");
                }
                let _ = self
                    .tx
                    .send(
                        Event::Pushed {
                            source: source.id.clone(),
                            mentions: parsed.mentions,
                        }
                        .into(),
                    )
                    .await;
                200
            }
            Err(e) => {
                warn!(source = %source.id, error = %e, "WebSub content is not a feed: ignored");
                202
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_of_every_algorithm() {
        let body = b"<feed/>";
        let sig = |algo: &str| {
            macro_rules! s {
                ($h:ty) => {{
                    let mut m = <Hmac<$h> as KeyInit>::new_from_slice(b"k").unwrap();
                    m.update(body);
                    m.finalize()
                        .into_bytes()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                }};
            }
            let hex = match algo {
                "sha1" => s!(sha1::Sha1),
                "sha256" => s!(sha2::Sha256),
                "sha384" => s!(sha2::Sha384),
                _ => s!(sha2::Sha512),
            };
            format!("{algo}={hex}")
        };
        for algo in ["sha1", "sha256", "sha384", "sha512"] {
            assert!(verify_signature("k", &sig(algo), body), "{algo}");
            assert!(!verify_signature("other", &sig(algo), body), "{algo}");
            assert!(!verify_signature("k", &sig(algo), b"tampered"), "{algo}");
        }
        assert!(!verify_signature("k", "md5=00", body));
        assert!(!verify_signature("k", "", body));
        assert!(!verify_signature("k", "sha256=zz", body));
    }

    #[test]
    fn renewal_margin() {
        let now = Utc::now();
        let mut s = Subscription {
            token: "t".into(),
            source: "s".into(),
            hub: Url::parse("https://h.example/").unwrap(),
            topic: Url::parse("https://f.example/").unwrap(),
            secret: "x".into(),
            requested_at: now - chrono::Duration::days(7),
            verified_at: Some(now - chrono::Duration::days(7)),
            lease_until: Some(now + chrono::Duration::days(3)),
        };
        assert!(!s.needs_renewal(now));
        s.lease_until = Some(now + chrono::Duration::hours(12));
        assert!(s.needs_renewal(now));
        // A renewal asked five minutes ago awaits the hub: not again yet.
        s.requested_at = now - chrono::Duration::minutes(5);
        assert!(!s.needs_renewal(now), "renewal in flight");
        s.requested_at = now - chrono::Duration::hours(2);
        assert!(s.needs_renewal(now), "the hub never answered: ask again");
        s.verified_at = None;
        s.requested_at = now - chrono::Duration::minutes(5);
        assert!(!s.needs_renewal(now), "pending, asked recently");
    }
}
