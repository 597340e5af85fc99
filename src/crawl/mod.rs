//! Crawling: the HTTP client every source and webhook uses, with its limits, the
//! private-address guard, conditional GET, and the scheduler that decides what is due.

pub mod charset;
pub mod fetch;
pub mod guard;
pub mod robots;
pub mod scheduler;
pub mod websub;

use std::sync::Arc;

use serde::Deserialize;

use crate::config::{ByteSize, Duration};

pub use fetch::{FetchError, Fetched, Validators};

/// Default of `[crawl] max_text`: a long article, not a book.
pub const DEFAULT_MAX_TEXT: usize = 64 << 10;
/// Smallest `[crawl] max_text` accepted.
pub const MIN_MAX_TEXT: usize = 1 << 10;

/// `[crawl]` in the config: how veille behaves on the network.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrawlConfig {
    /// Contact URL or e-mail put in the User-Agent, so site owners can reach you.
    pub contact: Option<String>,
    /// Time allowed to open a connection (TCP + TLS).
    pub connect_timeout: Duration,
    /// Total time allowed for one request, body included.
    pub timeout: Duration,
    /// Largest body accepted, after decompression (a gzip bomb is cut off here).
    pub max_body: ByteSize,
    /// Longest text kept per mention (title, text and author each): what is longer is
    /// cut on a character boundary and ends with " […]". Matching, enrichment, the index
    /// and alerts never see more, so memory follows this setting, not the items served.
    pub max_text: ByteSize,
    /// Redirects followed before giving up (at most 5).
    pub max_redirects: usize,
    /// Fetches running at once, over all sources.
    pub concurrency: usize,
    /// Fetches running at once against one host.
    pub per_host: usize,
    /// Minimum time between two requests to the same host.
    pub per_host_delay: Duration,
    /// Bounds of the interval of `every = "auto"` sources.
    pub auto_min: Duration,
    pub auto_max: Duration,
    /// A source failing without interruption for this long is marked unhealthy.
    pub unhealthy_after: Duration,
    /// Interval of the safety-net poll of a feed pushed through WebSub.
    pub push_poll_every: Duration,
    /// Allow every source and webhook to reach private addresses (loopback, LAN).
    pub allow_private: bool,
}

impl Default for CrawlConfig {
    fn default() -> Self {
        CrawlConfig {
            contact: None,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body: ByteSize(10 << 20),
            max_text: ByteSize(DEFAULT_MAX_TEXT as u64),
            max_redirects: 5,
            concurrency: 32,
            per_host: 2,
            per_host_delay: Duration::from_secs(1),
            auto_min: Duration::from_secs(120),
            auto_max: Duration::from_secs(6 * 3600),
            unhealthy_after: Duration::from_secs(3600),
            push_poll_every: Duration::from_secs(3600),
            allow_private: false,
        }
    }
}

impl CrawlConfig {
    /// `max_text` in bytes, never below [`MIN_MAX_TEXT`] (the config refuses less).
    pub fn max_text(&self) -> usize {
        usize::try_from(self.max_text.0)
            .unwrap_or(usize::MAX)
            .max(MIN_MAX_TEXT)
    }

    pub fn user_agent(&self) -> String {
        let contact = self
            .contact
            .as_deref()
            .unwrap_or("https://github.com/veille/veille");
        format!(
            "veille/{} (brand-mention monitor; +{contact})",
            env!("CARGO_PKG_VERSION")
        )
    }
}

/// Whether to follow a redirect to `url`: at most `max` redirects, no loop, HTTP(S) only,
/// and no private address when `guarded` (names are checked again at connection time).
pub fn redirect_decision(
    url: &url::Url,
    previous: &[url::Url],
    max: usize,
    guarded: bool,
) -> Result<(), String> {
    if previous.len() > max {
        return Err(format!("more than {max} redirects"));
    }
    if previous.contains(url) {
        return Err(format!("redirect loop at {url}"));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("redirect to a non-HTTP URL {url}"));
    }
    if guarded {
        guard::check_url(url).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The HTTP clients: one that refuses private addresses, one that allows them (for
/// sources and notifiers configured with `allow_private = true`).
#[derive(Clone)]
pub struct Http {
    guarded: reqwest::Client,
    open: reqwest::Client,
    pub limits: Arc<CrawlConfig>,
    /// robots.txt of the sites scraped as HTML, shared by every source.
    pub robots: Arc<robots::RobotsCache>,
}

impl Http {
    pub fn new(config: &CrawlConfig) -> anyhow::Result<Http> {
        Http::with_resolver(config, None)
    }

    /// Like [`Http::new`], with the name resolution of private-allowed requests replaced
    /// (the crawl benchmark resolves thousands of host names to loopback this way).
    pub fn with_resolver(
        config: &CrawlConfig,
        resolver: Option<Arc<dyn reqwest::dns::Resolve>>,
    ) -> anyhow::Result<Http> {
        let build = |guarded: bool| -> anyhow::Result<reqwest::Client> {
            let max_redirects = config.max_redirects.min(5);
            let policy =
                reqwest::redirect::Policy::custom(move |attempt| {
                    match redirect_decision(
                        attempt.url(),
                        attempt.previous(),
                        max_redirects,
                        guarded,
                    ) {
                        Ok(()) => attempt.follow(),
                        Err(e) => attempt.error(e),
                    }
                });
            let mut b = reqwest::Client::builder()
                .user_agent(config.user_agent())
                .connect_timeout(config.connect_timeout.std())
                .timeout(config.timeout.std())
                .redirect(policy)
                // No idle connections kept: a source's host is polled minutes apart, and
                // thousands of idle sockets cost ~20 KB each (230 MB at 10,000 hosts).
                .pool_max_idle_per_host(0)
                .no_proxy();
            if guarded {
                b = b.dns_resolver(guard::PublicOnlyResolver);
            } else if let Some(r) = &resolver {
                b = b.dns_resolver(r.clone());
            }
            Ok(b.build()?)
        };
        Ok(Http {
            guarded: build(true)?,
            open: build(false)?,
            limits: Arc::new(config.clone()),
            robots: Arc::default(),
        })
    }

    /// The client to use; `allow_private` comes from the source or notifier config.
    pub fn client(&self, allow_private: bool) -> &reqwest::Client {
        if allow_private || self.limits.allow_private {
            &self.open
        } else {
            &self.guarded
        }
    }

    pub fn allows_private(&self, allow_private: bool) -> bool {
        allow_private || self.limits.allow_private
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn redirects_are_bounded_and_guarded() {
        let start = u("https://news.example/feed");
        assert!(
            redirect_decision(&u("https://news.example/new"), &[start.clone()], 5, true).is_ok()
        );
        let e = redirect_decision(&start, &[start.clone()], 5, true).unwrap_err();
        assert!(e.contains("redirect loop"), "{e}");
        let chain: Vec<Url> = (0..6)
            .map(|i| u(&format!("https://n.example/{i}")))
            .collect();
        assert!(
            redirect_decision(&u("https://n.example/x"), &chain, 5, true)
                .unwrap_err()
                .contains("more than 5")
        );
        let e = redirect_decision(
            &u("http://169.254.169.254/latest/meta-data"),
            &[start.clone()],
            5,
            true,
        )
        .unwrap_err();
        assert!(e.contains("private address"), "{e}");
        let e = redirect_decision(&u("http://[::1]:8080/"), &[start.clone()], 5, true).unwrap_err();
        assert!(e.contains("private address"), "{e}");
        assert!(
            redirect_decision(&u("http://10.0.0.1/"), &[start.clone()], 5, false).is_ok(),
            "allowed when configured"
        );
        assert!(redirect_decision(&u("file:///etc/passwd"), &[start], 5, false).is_err());
    }
}
