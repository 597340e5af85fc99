//! Links a server sends in HTTP headers.

use reqwest::header::HeaderMap;
use url::Url;

/// A feed's WebSub hub and topic: `<hub>; rel="hub"` and `<self>; rel="self"` in its HTTP
/// Link headers (the topic defaults to `base`, the feed's URL).
pub fn websub_hub(headers: &HeaderMap, base: &Url) -> Option<(Url, Url)> {
    let mut hub = None;
    let mut this = None;
    for v in headers.get_all(reqwest::header::LINK) {
        let Ok(v) = v.to_str() else { continue };
        for part in v.split(',') {
            let Some((target, params)) = part.split_once(';') else {
                continue;
            };
            let target = target.trim().trim_start_matches('<').trim_end_matches('>');
            let rels: Vec<String> = params
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("rel="))
                .flat_map(|r| {
                    r.trim_matches('"')
                        .split_whitespace()
                        .map(str::to_ascii_lowercase)
                        .collect::<Vec<_>>()
                })
                .collect();
            let Ok(url) = base.join(target) else { continue };
            if rels.iter().any(|r| r == "hub") {
                hub.get_or_insert(url.clone());
            }
            if rels.iter().any(|r| r == "self") {
                this.get_or_insert(url);
            }
        }
    }
    hub.map(|h| (h, this.unwrap_or_else(|| base.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_discovery() {
        let mut h = HeaderMap::new();
        h.append(
            reqwest::header::LINK,
            "<https://hub.example/>; rel=\"hub\", </feed.xml>; rel=\"self\""
                .parse()
                .unwrap(),
        );
        let base = Url::parse("https://blog.example/rss").unwrap();
        let (hub, topic) = websub_hub(&h, &base).unwrap();
        assert_eq!(hub.as_str(), "https://hub.example/");
        assert_eq!(topic.as_str(), "https://blog.example/feed.xml");
        assert!(websub_hub(&HeaderMap::new(), &base).is_none());
    }
}
