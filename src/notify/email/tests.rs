//! Tests of `notify/email/mod.rs`.

use super::*;
use crate::testutil;

fn header(raw: &str, name: &str) -> Option<String> {
    raw.lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with(&format!("{}:", name.to_ascii_lowercase()))
        })
        .map(|l| l[name.len() + 1..].trim().to_string())
}

#[test]
fn an_incident_is_one_thread() {
    let from: Mailbox = "veille@example.org".parse().unwrap();
    let to: Vec<Mailbox> = vec!["cm@example.org".parse().unwrap()];
    let mut first = testutil::alert();
    first.incident = 7;
    first.incident_key = "crisis:acme::7".into();
    first.key = "crisis:acme::7:1".into();
    first.status = crate::model::Status::New;
    let mut update = first.clone();
    update.key = "crisis:acme::7:2".into();
    update.status = crate::model::Status::Update;
    let mut resolved = first.clone();
    resolved.key = "crisis:acme::7:resolved".into();
    resolved.status = crate::model::Status::Resolved;
    let raw_from = |a: &Alert, installation: &str, notifier: &str| {
        let style = Style::bundled(Locale::En, "example.org");
        let origin = Origin {
            installation,
            notifier,
        };
        String::from_utf8(
            build_message(a, &from, &to, &style, origin)
                .unwrap()
                .formatted(),
        )
        .unwrap()
    };
    let raw = |a: &Alert| raw_from(a, "install-1", "mail");
    let (m1, m2, m3) = (raw(&first), raw(&update), raw(&resolved));
    let root = header(&m1, "Message-ID").unwrap();
    assert_eq!(
        header(&m1, "In-Reply-To"),
        None,
        "the first message opens the thread"
    );
    for m in [&m2, &m3] {
        assert_eq!(header(m, "In-Reply-To").as_deref(), Some(root.as_str()));
        assert_eq!(header(m, "References").as_deref(), Some(root.as_str()));
        assert_ne!(header(m, "Message-ID").as_deref(), Some(root.as_str()));
    }
    assert!(header(&m2, "Subject").unwrap().starts_with("Update: "));
    assert!(header(&m3, "Subject").unwrap().starts_with("Resolved: "));
    // Another incident of the same rule is another thread.
    let mut other = first.clone();
    other.incident_key = "crisis:acme::8".into();
    assert_ne!(header(&raw(&other), "Message-ID"), Some(root.clone()));
    // The same incident number in another installation, or through another notifier
    // (an English and a French one), is another thread; each keeps its own.
    for (installation, notifier) in [("install-2", "mail"), ("install-1", "mail-fr")] {
        let first_elsewhere = raw_from(&first, installation, notifier);
        let update_elsewhere = raw_from(&update, installation, notifier);
        let root2 = header(&first_elsewhere, "Message-ID").unwrap();
        assert_ne!(root2, root);
        assert_ne!(
            header(&update_elsewhere, "Message-ID"),
            header(&m2, "Message-ID")
        );
        assert_eq!(header(&update_elsewhere, "In-Reply-To"), Some(root2));
    }
    // A resend of the same delivery is the same message.
    assert_eq!(
        header(&raw(&update), "Message-ID"),
        header(&m2, "Message-ID")
    );
}

#[test]
fn hostile_text_is_escaped_in_html_and_subject_is_one_line() {
    let mut alert = testutil::alert();
    alert.summary = "line1\r\nBcc: victim@example.org".into();
    alert.mentions[0].title = "<script>alert(1)</script>".into();
    alert.mentions[0].excerpt = vec![
        crate::model::Fragment {
            text: "<img src=x onerror=alert(1)> ".into(),
            hit: false,
        },
        crate::model::Fragment {
            text: "Acme".into(),
            hit: true,
        },
    ];
    let style = Style::bundled(Locale::En, "example.org");
    let (txt, html) = render(&alert, &style).unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;"));
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("<mark"));
    assert!(txt.contains("*Acme*"));
    assert!(!subject(&alert, Locale::En).contains('\n'));
    let from: Mailbox = "veille@example.org".parse().unwrap();
    let origin = Origin {
        installation: "i",
        notifier: "mail",
    };
    let msg = build_message(&alert, &from, std::slice::from_ref(&from), &style, origin).unwrap();
    let raw = String::from_utf8(msg.formatted()).unwrap();
    let headers = raw.split("\r\n\r\n").next().unwrap();
    assert!(!headers.contains("\nBcc:"), "{headers}");
    assert!(raw.contains("multipart/alternative"));
}
