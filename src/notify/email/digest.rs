//! A digest by e-mail: the same words as the chat platforms' digests
//! ([`crate::notify::view::digest`]), as HTML with one chart image per brand and a text
//! part, threaded like the alerts.

use lettre::Message;
use lettre::message::{Mailbox, MultiPart, header};

use super::*;
use crate::text;

/// A digest e-mail: plain text, and HTML with each brand's volume chart inline
/// (multipart/related, `cid:` images). Its Message-ID, like an alert's, is unique per
/// installation and notifier and the same on a resend.
pub fn build_digest(
    d: &crate::model::digest::DigestData,
    from: &Mailbox,
    to: &[Mailbox],
    style: &Style,
    origin: Origin<'_>,
) -> Result<Message, BuildError> {
    use lettre::message::{Attachment, SinglePart};
    let l = style.locale;
    let domain = from.email.domain().to_string();
    let (html, images) = render_digest(d, style)?;
    let mut related = MultiPart::related().singlepart(SinglePart::html(html));
    for (cid, png) in images {
        related = related.singlepart(
            Attachment::new_inline(cid).body(png, "image/png".parse().expect("a MIME type")),
        );
    }
    let body = MultiPart::alternative()
        .singlepart(SinglePart::plain(crate::notify::view::digest::text(d, l)))
        .multipart(related);
    let key = crate::model::alert::delivery_key(
        origin.installation,
        origin.notifier,
        &crate::notify::webhook::digest_key(d),
    );
    let id = format!("<{}@{domain}>", crate::mention::hash_id("digest", &key));
    let mut b = Message::builder()
        .from(from.clone())
        .subject(text::single_line(&crate::notify::view::digest::title(d, l)))
        .date(d.end.into())
        .message_id(Some(id))
        .header(header::MIME_VERSION_1_0)
        .header(ListId(style.list_id.clone()))
        .header(AutoSubmitted);
    for t in to {
        b = b.to(t.clone());
    }
    Ok(b.multipart(body)?)
}

/// The digest's HTML (charts as `cid:` references) and its chart images (cid, PNG).
pub fn render_digest(
    d: &crate::model::digest::DigestData,
    style: &Style,
) -> Result<(String, Vec<(String, Vec<u8>)>), BuildError> {
    use crate::notify::view::digest::{self as render, Line};
    let l = style.locale;
    let mut brands = Vec::new();
    let mut images = Vec::new();
    for b in &d.brands {
        let cid = format!("chart-{}@veille", crate::mention::hash_id("chart", &b.id));
        let chart = crate::notify::chart::Chart::of(b, d.start, l);
        images.push((cid.clone(), chart.png()?));
        let lines: Vec<minijinja::Value> = render::detail_lines(b, l, &d.tz)
            .into_iter()
            .map(|line| match line {
                // A text line ending with a colon heads the list below it.
                Line::Text(t) if t.ends_with(':') => {
                    minijinja::context! { section => true, text => t }
                }
                Line::Heading(t) | Line::Text(t) | Line::Key(t) => {
                    minijinja::context! { text => t }
                }
                Line::Link(t, u, m) => {
                    minijinja::context! { link => true, text => t, url => u, meta => m }
                }
            })
            .collect();
        brands.push(minijinja::context! {
            data => minijinja::Value::from(minijinja::value::Serde(b)),
            figures => minijinja::Value::from(minijinja::value::Serde(render::figures(b, l))),
            lines => lines,
            cid => cid,
            chart_alt => chart.alt(),
        });
    }
    let title = render::title(d, l);
    let html = style
        .env
        .get_template("digest.html")?
        .render(minijinja::context! {
            title => title.clone(),
            lang => match l { Locale::En => "en", Locale::Fr => "fr" },
            brands => brands,
            volume => l.texts().volume,
            footer => l.texts().footer,
        })?;
    Ok((html, images))
}
