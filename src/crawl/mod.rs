//! Crawling: the HTTP client every source and webhook uses, with its limits, the
//! private-address guard, conditional GET, and the scheduler that decides what is due.

pub mod charset;
pub mod fetch;
pub mod guard;
pub mod robots;
pub mod scheduler;
pub mod websub;

use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use crate::config::{ByteSize, Duration};

pub use fetch::{FetchError, Fetched, Validators};
pub use guard::AllowPrivate;

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
    /// Allow every source and webhook to reach private addresses: `true` for loopback and
    /// LAN; link-local and cloud-metadata addresses only when named,
    /// `["loopback", "lan", "link_local"]`.
    pub allow_private: AllowPrivate,
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
            allow_private: AllowPrivate::NONE,
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
/// and no literal address `allow` refuses (names are checked at connection time).
pub fn redirect_decision(
    url: &url::Url,
    previous: &[url::Url],
    max: usize,
    allow: AllowPrivate,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if previous.len() > max {
        return Err(format!("more than {max} redirects").into());
    }
    // Only the origin is named: the path or query of a webhook URL can be its secret.
    let at = crate::config::redact::url_origin(url);
    if previous.contains(url) {
        return Err(format!("redirect loop at {at}").into());
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("redirect to a non-HTTP URL {at}").into());
    }
    // The guard's own error, so that callers recognise it in the error's sources.
    guard::check_url(url, allow)?;
    Ok(())
}

/// The HTTP clients, one per address policy (see [`guard`]): each resolves names through
/// a [`guard::GuardedResolver`] and checks every redirect with the same policy.
#[derive(Clone)]
pub struct Http {
    /// Public addresses only, made at once (which checks the settings).
    public: reqwest::Client,
    /// The other policies' clients, by [`AllowPrivate::index`], made when first used.
    clients: Arc<[OnceLock<reqwest::Client>; 8]>,
    resolver: Option<Arc<dyn reqwest::dns::Resolve>>,
    pub limits: Arc<CrawlConfig>,
    /// robots.txt of the sites scraped as HTML, shared by every source.
    pub robots: Arc<robots::RobotsCache>,
}

impl Http {
    pub fn new(config: &CrawlConfig) -> anyhow::Result<Http> {
        Http::with_resolver(config, None)
    }

    /// Like [`Http::new`], with name resolution replaced (the crawl benchmark resolves
    /// thousands of host names to loopback, tests resolve names to chosen addresses); the
    /// address policy applies to what it returns.
    pub fn with_resolver(
        config: &CrawlConfig,
        resolver: Option<Arc<dyn reqwest::dns::Resolve>>,
    ) -> anyhow::Result<Http> {
        let limits = Arc::new(config.clone());
        Ok(Http {
            public: build(&limits, &resolver, AllowPrivate::NONE)?,
            clients: Arc::new(Default::default()),
            resolver,
            limits,
            robots: Arc::default(),
        })
    }

    /// The policy of a source or notifier, with `[crawl] allow_private` added.
    pub fn policy(&self, allow_private: AllowPrivate) -> AllowPrivate {
        allow_private.union(self.limits.allow_private)
    }

    /// The client for a source or notifier configured with `allow_private`.
    pub fn client(&self, allow_private: AllowPrivate) -> &reqwest::Client {
        let allow = self.policy(allow_private);
        if allow == AllowPrivate::NONE {
            return &self.public;
        }
        self.clients[allow.index()].get_or_init(|| {
            build(&self.limits, &self.resolver, allow).unwrap_or_else(|e| {
                // The public-only client was built with the same settings: this cannot
                // fail in practice, and refusing private addresses is the safe answer.
                tracing::error!(error = %e, "cannot build an HTTP client; private addresses stay refused");
                self.public.clone()
            })
        })
    }

    /// Refuses a URL whose host is a literal address the policy does not allow (names
    /// are checked by the client's resolver; redirects by its redirect policy).
    pub fn check_url(
        &self,
        allow_private: AllowPrivate,
        url: &url::Url,
    ) -> Result<(), guard::PrivateAddress> {
        guard::check_url(url, self.policy(allow_private))
    }
}

/// A client that reaches what `allow` allows, whatever the name or redirect.
fn build(
    config: &CrawlConfig,
    resolver: &Option<Arc<dyn reqwest::dns::Resolve>>,
    allow: AllowPrivate,
) -> reqwest::Result<reqwest::Client> {
    let max_redirects = config.max_redirects.min(5);
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        match redirect_decision(attempt.url(), attempt.previous(), max_redirects, allow) {
            Ok(()) => attempt.follow(),
            Err(e) => attempt.error(e),
        }
    });
    reqwest::Client::builder()
        .user_agent(config.user_agent())
        .connect_timeout(config.connect_timeout.std())
        .timeout(config.timeout.std())
        .redirect(policy)
        // No idle connections kept: a source's host is polled minutes apart, and
        // thousands of idle sockets cost ~20 KB each (230 MB at 10,000 hosts).
        .pool_max_idle_per_host(0)
        .no_proxy()
        .dns_resolver(guard::GuardedResolver {
            allow,
            inner: resolver.clone(),
        })
        .build()
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
        let none = AllowPrivate::NONE;
        let private = AllowPrivate::PRIVATE;
        let decide = |url: &str, previous: &[Url], allow| {
            redirect_decision(&u(url), previous, 5, allow).map_err(|e| e.to_string())
        };
        let start = u("https://news.example/feed");
        assert!(decide("https://news.example/new", &[start.clone()], none).is_ok());
        let e = decide(start.as_str(), &[start.clone()], none).unwrap_err();
        assert!(e.contains("redirect loop"), "{e}");
        let chain: Vec<Url> = (0..6)
            .map(|i| u(&format!("https://n.example/{i}")))
            .collect();
        assert!(
            decide("https://n.example/x", &chain, none)
                .unwrap_err()
                .contains("more than 5")
        );
        let metadata = "http://169.254.169.254/latest/meta-data";
        let e = decide(metadata, &[start.clone()], none).unwrap_err();
        assert!(e.contains("link-local or cloud-metadata address"), "{e}");
        let e = decide(metadata, &[start.clone()], private).unwrap_err();
        assert!(e.contains("link-local or cloud-metadata address"), "{e}");
        let e = decide("http://[::1]:8080/", &[start.clone()], none).unwrap_err();
        assert!(e.contains("private address (loopback)"), "{e}");
        assert!(
            decide("http://10.0.0.1/", &[start.clone()], private).is_ok(),
            "allowed when configured"
        );
        assert!(decide("file:///etc/passwd", &[start], private).is_err());
    }
}
