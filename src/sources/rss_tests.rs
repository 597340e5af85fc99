//! Tests of `sources/rss.rs`.

use super::*;
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
}

/// An entry with this title trips a panic in its mapping.
pub(super) const PANIC_TITLE: &str = "panic in the mapping";

fn feed_url() -> Url {
    Url::parse("https://news.example.fr/rss/une.xml").unwrap()
}

#[test]
fn rss2_with_relative_links_entities_and_no_date() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Actu</title><link>https://news.example.fr/</link><language>fr-FR</language>
<item><title>Acme &amp;eacute;pingl&#233; : le &lt;b&gt;scandale&lt;/b&gt;</title>
<link>/articles/acme-scandale?utm_source=rss#top</link>
<description><![CDATA[<p>Les clients d&eacute;noncent une <em>arnaque</em>&nbsp;!</p>]]></description>
<author>redaction@example.fr (Sofiane Benali)</author>
<pubDate>Tue, 10 Mar 2026 08:15:00 +0100</pubDate></item>
<item><title>Sans date</title><guid isPermaLink="false">abc-1</guid><description>Texte</description></item>
</channel></rss>"#;
    let m = parse(
        xml.as_bytes(),
        Some("application/rss+xml"),
        &feed_url(),
        "s",
        &[],
        now(),
    )
    .unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].url, "https://news.example.fr/articles/acme-scandale");
    assert_eq!(m[0].title, "Acme épinglé : le scandale");
    assert_eq!(m[0].text, "Les clients dénoncent une arnaque !");
    assert_eq!(m[0].author.as_deref(), Some("Sofiane Benali"));
    assert_eq!(m[0].language.as_deref(), Some("fr"));
    assert_eq!(
        m[0].published_at,
        Utc.with_ymd_and_hms(2026, 3, 10, 7, 15, 0).unwrap()
    );
    // No date: the fetch time; no link: the guid makes the id.
    assert_eq!(m[1].published_at, now());
    assert_eq!(m[1].native_id.as_deref(), Some("abc-1"));
}

#[test]
fn latin1_declared_feed_is_windows_1252() {
    let mut xml = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>t</title><item><title>Caf\xe9 \x80 l\x92Acme</title><link>https://x.example/a</link></item></channel></rss>".to_vec();
    let m = parse(&xml, Some("text/xml"), &feed_url(), "s", &[], now()).unwrap();
    assert_eq!(m[0].title, "Café € l’Acme");
    // Same bytes, declared by the HTTP header only.
    xml = b"<rss version=\"2.0\"><channel><title>t</title><item><title>Caf\xe9 \x80</title><link>https://x.example/a</link></item></channel></rss>".to_vec();
    let m = parse(
        &xml,
        Some("text/xml; charset=iso-8859-1"),
        &feed_url(),
        "s",
        &[],
        now(),
    )
    .unwrap();
    assert_eq!(m[0].title, "Café €");
    // Undeclared and not UTF-8: read as windows-1252 rather than failing.
    let m = parse(&xml, None, &feed_url(), "s", &[], now()).unwrap();
    assert_eq!(m[0].title, "Café €");
}

#[test]
fn utf8_prolog_with_a_windows_1252_byte_keeps_every_item() {
    // Regression: one stray byte made the whole feed "not a valid RSS" (every item lost).
    let bytes = [
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title>\
        <item><title>L’été d’Acme</title><link>https://x.example/1</link></item>\
        <item><title>Acme : l"
            .as_bytes(),
        b"\x92",
        b"avis</title><link>https://x.example/2</link></item></channel></rss>",
    ]
    .concat();
    assert!(std::str::from_utf8(&bytes).is_err());
    for ct in [None, Some("application/rss+xml; charset=utf-8")] {
        let parsed =
            parse_feed(&bytes, ct, &feed_url(), "s", &[], now()).expect("lenient decoding");
        let titles: Vec<&str> = parsed.mentions.iter().map(|m| m.title.as_str()).collect();
        assert_eq!(titles, ["L’été d’Acme", "Acme : l’avis"], "{ct:?}");
        assert_eq!(parsed.repaired, 1);
    }
}

#[test]
fn an_entry_that_trips_a_bug_is_reported_and_the_others_kept() {
    let xml = format!(
        "<rss version=\"2.0\"><channel><title>t</title>\
         <item><title>Acme 1</title><link>https://x.example/1</link></item>\
         <item><title>{PANIC_TITLE}</title><link>https://x.example/bad</link></item>\
         <item><title>Acme 3</title><link>https://x.example/3</link></item></channel></rss>"
    );
    let parsed = parse_feed(xml.as_bytes(), None, &feed_url(), "s", &[], now()).unwrap();
    let titles: Vec<&str> = parsed.mentions.iter().map(|m| m.title.as_str()).collect();
    assert_eq!(titles, ["Acme 1", "Acme 3"]);
    assert_eq!(
        parsed.failed,
        [ItemFailure {
            url: "https://x.example/bad".into(),
            stage: "parse",
            error: "internal error: test: mapping this entry fails".into(),
        }]
    );
}

#[test]
fn valid_utf8_wins_over_a_wrong_latin1_label() {
    let xml = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>t</title><item><title>Café Acme</title><link>https://x.example/1</link></item></channel></rss>";
    let m = parse(xml.as_bytes(), None, &feed_url(), "s", &[], now()).unwrap();
    assert_eq!(m[0].title, "Café Acme");
    let m = parse(
        xml.as_bytes(),
        Some("text/xml; charset=iso-8859-1"),
        &feed_url(),
        "s",
        &[],
        now(),
    )
    .unwrap();
    assert_eq!(m[0].title, "Café Acme");
}

#[test]
fn an_item_larger_than_max_text_is_cut_with_a_marker() {
    let para = "&lt;p&gt;Le fabricant Acme a pr&amp;eacute;sent&amp;eacute; sa gamme.&lt;/p&gt;";
    let xml = format!(
        "<rss version=\"2.0\"><channel><title>t</title><item><title>Acme</title><link>https://x.example/big</link><description>{}</description></item><item><title>Acme 2</title><link>https://x.example/small</link><description>court</description></item></channel></rss>",
        para.repeat(200_000)
    );
    let parsed =
        parse_feed_limited(xml.as_bytes(), None, &feed_url(), "s", &[], now(), 4096).unwrap();
    let m = &parsed.mentions;
    assert_eq!(m.len(), 2);
    assert!(m[0].text.len() <= 4096, "{}", m[0].text.len());
    assert!(m[0].text.len() > 3000, "{}", m[0].text.len());
    assert!(
        m[0].text
            .starts_with("Le fabricant Acme a présenté sa gamme.")
    );
    assert!(
        m[0].text.ends_with(crate::mention::CUT_MARKER),
        "{}",
        &m[0].text[4000..]
    );
    assert_eq!(
        (m[1].url.as_str(), m[1].text.as_str()),
        ("https://x.example/small", "court")
    );
}

#[test]
fn a_json_feed_item_larger_than_max_text_is_cut_too() {
    let json = format!(
        r#"{{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{{"id":"1","url":"https://j.example/1","title":"Acme","content_html":"{}"}}]}}"#,
        r"<p>Acme a pr\u00e9sent\u00e9 sa gamme.</p>\n".repeat(100_000)
    );
    let m = parse_feed_limited(json.as_bytes(), None, &feed_url(), "s", &[], now(), 2048)
        .unwrap()
        .mentions;
    assert!(m[0].text.starts_with("Acme a présenté sa gamme."));
    assert!(m[0].text.len() <= 2048 && m[0].text.ends_with(crate::mention::CUT_MARKER));
}

#[test]
fn atom_with_xml_base_and_html_content() {
    let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en" xml:base="https://blog.example.com/">
<title>Blog</title><id>urn:x</id><updated>2026-03-09T10:00:00Z</updated>
<author><name>Jane Doe</name></author>
<entry><id>urn:1</id><title type="html">Acme &amp;amp; Globex</title>
<link href="posts/1"/><updated>2026-03-09T10:00:00.123Z</updated>
<content type="html">&lt;p&gt;Hello &lt;b&gt;Acme&lt;/b&gt;&lt;/p&gt;</content></entry>
</feed>"#;
    let m = parse(xml.as_bytes(), None, &feed_url(), "s", &[], now()).unwrap();
    assert_eq!(m[0].url, "https://blog.example.com/posts/1");
    assert_eq!(m[0].title, "Acme & Globex");
    assert_eq!(m[0].text, "Hello Acme");
    assert_eq!(m[0].author.as_deref(), Some("Jane Doe"));
    assert_eq!(m[0].language.as_deref(), Some("en"));
}

#[test]
fn json_feed() {
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
        {"id":"1","url":"https://j.example/1","title":"Acme","content_html":"<p>Bonjour</p>","date_published":"2026-03-09T10:00:00Z"}]}"#;
    let m = parse(
        json.as_bytes(),
        Some("application/feed+json"),
        &feed_url(),
        "s",
        &[],
        now(),
    )
    .unwrap();
    assert_eq!(m[0].url, "https://j.example/1");
    assert_eq!(m[0].text, "Bonjour");
}

#[test]
fn broken_feeds_are_errors_not_panics() {
    for bad in [
        "",
        "not xml at all",
        "<rss><channel><item><title>trunc",
        "{\"version\":",
    ] {
        assert!(
            parse(bad.as_bytes(), None, &feed_url(), "s", &[], now()).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn rss_1_0_rdf_and_rss_0_91() {
    let rdf = r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://old.example/"><title>Old</title><link>https://old.example/</link><description>d</description></channel>
<item rdf:about="https://old.example/1"><title>Acme en RDF</title><link>https://old.example/1</link><dc:date>2026-03-10T09:00:00+01:00</dc:date><dc:creator>Anne</dc:creator></item>
</rdf:RDF>"#;
    let m = parse(rdf.as_bytes(), None, &feed_url(), "s", &[], now()).unwrap();
    assert_eq!(m[0].title, "Acme en RDF");
    assert_eq!(m[0].author.as_deref(), Some("Anne"));
    assert_eq!(
        m[0].published_at,
        Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap()
    );
    let rss091 = r#"<?xml version="1.0"?><rss version="0.91"><channel><title>t</title><link>https://o.example/</link><description>d</description><language>en-us</language>
<item><title>Acme 0.91</title><link>https://o.example/a</link><description>old &amp; plain</description></item></channel></rss>"#;
    let m = parse(rss091.as_bytes(), None, &feed_url(), "s", &[], now()).unwrap();
    assert_eq!(
        (m[0].title.as_str(), m[0].text.as_str()),
        ("Acme 0.91", "old & plain")
    );
    assert_eq!(m[0].language.as_deref(), Some("en"));
}

#[test]
fn future_dates_clamped() {
    let xml = r#"<rss version="2.0"><channel><title>t</title><item><title>x</title><link>https://a.example/1</link><pubDate>Tue, 10 Mar 2099 08:15:00 GMT</pubDate></item></channel></rss>"#;
    let m = parse(xml.as_bytes(), None, &feed_url(), "s", &[], now()).unwrap();
    assert_eq!(m[0].published_at, now());
}
