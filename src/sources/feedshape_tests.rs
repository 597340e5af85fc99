//! Tests of `sources/feedshape.rs`.

use super::*;

fn shaped(doc: &str) -> String {
    shape(doc).doc.into_owned()
}

#[test]
fn a_feed_feed_rs_reads_is_not_copied() {
    let doc = r#"<rss version="2.0"><channel><item><title>a</title><link>https://x.example/1</link></item></channel></rss>"#;
    assert!(matches!(shape(doc).doc, Cow::Borrowed(_)));
}

#[test]
fn rss_without_version_and_items_without_channel() {
    assert_eq!(
        shaped("<rss><item><title>a</title></item></rss>"),
        r#"<rss version="2.0"><channel><item><title>a</title></item></channel></rss>"#
    );
    assert_eq!(
        shaped(r#"<rss version="0.93"><channel/></rss>"#),
        r#"<rss version="2.0"><channel/></rss>"#
    );
}

#[test]
fn atom_03_becomes_atom_10() {
    let doc = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry><title mode="escaped" type="text/html">A &amp;lt;b&amp;gt;</title><issued>2006-03-10T08:00:00Z</issued></entry></feed>"#;
    assert_eq!(
        shaped(doc),
        r#"<feed version="0.3" xmlns="http://www.w3.org/2005/Atom"><entry><title mode="escaped" type="html">A &amp;lt;b&amp;gt;</title><published>2006-03-10T08:00:00Z</published></entry></feed>"#
    );
}

#[test]
fn rss_090_namespace_and_items_without_link() {
    let doc = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/"><item><title>a</title></item></rdf:RDF>"#;
    assert_eq!(
        shaped(doc),
        format!(
            r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="{RSS1}"><item><link>{NO_LINK}</link><title>a</title></item></rdf:RDF>"#
        )
    );
}

#[test]
fn a_permalink_guid_is_the_link_and_the_publisher_is_read() {
    let doc = r#"<rss version="2.0"><channel><item><title>a</title><guid>https://x.example/1</guid><source url="https://pub.example/rss">Pub &amp; Co</source></item><item><title>b</title><guid isPermaLink="false">https://x.example/2</guid></item></channel></rss>"#;
    let s = shape(doc);
    assert!(
        s.doc
            .contains("<item><link>https://x.example/1</link><title>a</title>")
    );
    assert!(s.doc.contains("<item><title>b</title>"), "{}", s.doc);
    assert_eq!(
        s.publishers,
        [(
            "https://x.example/1".to_string(),
            Publisher {
                name: Some("Pub & Co".into()),
                url: Some("https://pub.example/rss".into())
            }
        )]
    );
}

#[test]
fn a_cut_off_document_keeps_its_complete_items() {
    let s = shape("<rss version=\"2.0\"><channel><item><title>a</title></item><item><title>b</ti");
    assert_eq!(
        s.doc,
        "<rss version=\"2.0\"><channel><item><title>a</title></item></channel></rss>"
    );
    assert!(
        s.notes[0].contains("read the 1 complete item(s)"),
        "{:?}",
        s.notes
    );
}

#[test]
fn many_empty_atom_texts_are_dropped_in_one_pass() {
    // Regression: each one re-scanned every edit made before it (quadratic).
    let doc = format!(
        "<feed xmlns=\"{ATOM}\">{}</feed>",
        "<entry><title></title><id>x</id></entry>".repeat(100_000)
    );
    let out = shaped(&doc);
    assert_eq!(out.matches("<title>").count(), 0);
    assert_eq!(out.matches("<entry><id>x</id></entry>").count(), 100_000);
}
