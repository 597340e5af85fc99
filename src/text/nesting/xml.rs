//! Refusing feeds nested deeper than feed-rs can walk.

use super::MAX_XML_DEPTH;

/// A feed nested deeper than [`MAX_XML_DEPTH`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "elements nested {depth} deep (line {line}, column {column}): veille reads feeds nested at most {max} deep"
)]
pub struct TooDeep {
    /// Deepest nesting in the document.
    pub depth: usize,
    /// Where the nesting first went past the limit (1-based).
    pub line: usize,
    pub column: usize,
    pub max: usize,
}

/// Refuses an XML document whose elements nest deeper than [`MAX_XML_DEPTH`], in one
/// streaming pass. Whatever else is wrong with it is left to the feed parser.
pub fn check_xml_depth(xml: &[u8]) -> Result<(), TooDeep> {
    check_xml_depth_at(xml, MAX_XML_DEPTH)
}

fn check_xml_depth_at(xml: &[u8], max: usize) -> Result<(), TooDeep> {
    use quick_xml::events::Event;
    // UTF-16 (announced by its byte-order mark) is read as UTF-8 for counting.
    let decoded;
    let xml = match encoding_rs::Encoding::for_bom(xml) {
        Some((enc, _)) if enc != encoding_rs::UTF_8 => {
            decoded = enc.decode(xml).0.into_owned();
            decoded.as_bytes()
        }
        _ => xml,
    };
    let mut r = quick_xml::Reader::from_reader(xml);
    let config = r.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    let (mut depth, mut deepest, mut first_over) = (0usize, 0usize, None);
    let mut buf = Vec::new();
    loop {
        match r.read_event_into(&mut buf) {
            Ok(Event::Start(_)) => {
                depth += 1;
                deepest = deepest.max(depth);
                if depth > max && first_over.is_none() {
                    first_over = Some(r.buffer_position());
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
        buf.clear();
    }
    let Some(at) = first_over else {
        return Ok(());
    };
    let before = &xml[..(at as usize).min(xml.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.len()
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
    Err(TooDeep {
        depth: deepest,
        line,
        column,
        max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_depth() {
        let ok = format!("<rss>{}x{}</rss>", "<a>".repeat(10), "</a>".repeat(10));
        assert_eq!(check_xml_depth_at(ok.as_bytes(), 16), Ok(()));
        let deep = format!(
            "<?xml version=\"1.0\"?>\n<rss>\n{}x{}</rss>",
            "<a>".repeat(100),
            "</a>".repeat(100)
        );
        let e = check_xml_depth_at(deep.as_bytes(), 16).unwrap_err();
        assert_eq!((e.depth, e.line, e.column), (101, 3, 48));
        assert!(e.to_string().contains("nested 101 deep"), "{e}");
        // Unclosed and mismatched elements still count.
        let sloppy = "<a><b></c>".repeat(50);
        assert!(check_xml_depth_at(sloppy.as_bytes(), 16).is_err());
        // UTF-16 is read through its byte-order mark.
        let mut utf16 = vec![0xff, 0xfe];
        for u in deep.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(check_xml_depth_at(&utf16, 16).unwrap_err().depth, 101);
    }
}
