//! Bytes to text, leniently: a document whose declared charset does not match its bytes
//! is read with the best guess, never rejected.
//!
//! Order: a BOM; then valid UTF-8 (what almost every document really is, whatever its
//! label says); then the declared charset; and for a document declared UTF-8 (or not
//! declared at all) that is not, every byte sequence that is not UTF-8 is read as
//! windows-1252, what such stray bytes really are (a `’` pasted from a word processor).
//! Deeper sniffing (chardetng) can slot in where the guess is made, in [`decode`].

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// A decoded document and how it was read.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    /// The encoding the bytes were read with (UTF-8 for a mixed UTF-8/windows-1252 read).
    pub encoding: &'static Encoding,
    /// Byte sequences that were not valid in the declared UTF-8 (or undeclared) document
    /// and were read as windows-1252 instead; 0 when the label told the truth.
    pub repaired: usize,
}

/// The charset a Content-Type header names, if any (and if encoding_rs knows it).
pub fn charset_of(content_type: Option<&str>) -> Option<&'static Encoding> {
    let label = content_type?
        .split(';')
        .skip(1)
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches(['"', '\'']))?;
    Encoding::for_label(label.as_bytes())
}

/// Decodes `bytes`, declared (by a header, a prolog or a meta tag) as `declared`.
pub fn decode<'a>(bytes: &'a [u8], declared: Option<&'static Encoding>) -> Decoded<'a> {
    let read = |encoding: &'static Encoding, text| Decoded {
        text,
        encoding,
        repaired: 0,
    };
    // A BOM wins over every label; UTF-16 without one is only known from its label (its
    // ASCII would pass for UTF-8).
    let (bytes, declared) = match Encoding::for_bom(bytes) {
        Some((enc, bom)) => (&bytes[bom..], Some(enc)),
        None => (bytes, declared),
    };
    if let Some(enc) = declared.filter(|e| *e == UTF_16LE || *e == UTF_16BE) {
        return read(enc, enc.decode_without_bom_handling(bytes).0);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return read(UTF_8, Cow::Borrowed(s));
    }
    match declared {
        Some(enc) if enc != UTF_8 => read(enc, enc.decode_without_bom_handling(bytes).0),
        _ => utf8_or_windows_1252(bytes),
    }
}

/// UTF-8 where the bytes are UTF-8, windows-1252 for each sequence that is not.
fn utf8_or_windows_1252(bytes: &[u8]) -> Decoded<'static> {
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    let mut repaired = 0;
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        let bad = chunk.invalid();
        if !bad.is_empty() {
            repaired += 1;
            out.push_str(&WINDOWS_1252.decode_without_bom_handling(bad).0);
        }
    }
    Decoded {
        text: Cow::Owned(out),
        encoding: UTF_8,
        repaired,
    }
}

/// Takes ownership: no copy when the body is valid UTF-8 (the common case).
pub fn decode_owned(bytes: Vec<u8>, declared: Option<&'static Encoding>) -> (String, usize) {
    if Encoding::for_bom(&bytes).is_none()
        && !declared.is_some_and(|e| e == UTF_16LE || e == UTF_16BE)
    {
        match String::from_utf8(bytes) {
            Ok(s) => return (s, 0),
            Err(e) => {
                let d = decode(e.as_bytes(), declared);
                return (d.text.into_owned(), d.repaired);
            }
        }
    }
    let d = decode(&bytes, declared);
    (d.text.into_owned(), d.repaired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8], declared: Option<&'static Encoding>) -> String {
        decode(bytes, declared).text.into_owned()
    }

    #[test]
    fn valid_utf8_first_whatever_the_label() {
        let d = decode("Café".as_bytes(), Encoding::for_label(b"iso-8859-1"));
        assert_eq!(
            (d.text.as_ref(), d.encoding, d.repaired),
            ("Café", UTF_8, 0)
        );
        assert!(
            matches!(d.text, Cow::Borrowed(_)),
            "no copy of a UTF-8 body"
        );
    }

    #[test]
    fn declared_charset_when_not_utf8() {
        let latin = Encoding::for_label(b"iso-8859-1");
        assert_eq!(text(b"Caf\xe9 \x80", latin), "Café €");
        let koi8 = Encoding::for_label(b"koi8-r");
        assert_eq!(text(b"\xf0\xd2\xc9\xd7\xc5\xd4", koi8), "Привет");
    }

    #[test]
    fn a_stray_windows_1252_byte_in_utf8_is_read_as_windows_1252() {
        // Says UTF-8, is UTF-8 except one apostrophe pasted from a word processor.
        let bytes = "L’été chez Acme".as_bytes().to_vec();
        let mut mixed = bytes.clone();
        mixed.extend_from_slice(b" : l\x92avis");
        let d = decode(&mixed, Some(UTF_8));
        assert_eq!(d.text, "L’été chez Acme : l’avis");
        assert_eq!(d.repaired, 1);
        // Undeclared, the same.
        assert_eq!(text(&mixed, None), "L’été chez Acme : l’avis");
        // All windows-1252 under a UTF-8 label: every byte read as what it is.
        assert_eq!(
            text(b"Caf\xe9 \x80 l\x92Acme", Some(UTF_8)),
            "Café € l’Acme"
        );
    }

    #[test]
    fn boms_and_utf16() {
        assert_eq!(text(b"\xef\xbb\xbfCaf\xc3\xa9", None), "Café");
        assert_eq!(text(b"\xff\xfeA\x00c\x00", None), "Ac");
        // UTF-16 known by its label only: not taken for UTF-8 because its ASCII is.
        assert_eq!(text(b"A\x00c\x00", Some(UTF_16LE)), "Ac");
    }

    #[test]
    fn owned_decoding_does_not_copy_utf8() {
        let v = "Acme".as_bytes().to_vec();
        let ptr = v.as_ptr();
        let (s, repaired) = decode_owned(v, None);
        assert_eq!((s.as_str(), repaired, s.as_ptr()), ("Acme", 0, ptr));
        assert_eq!(decode_owned(b"caf\xe9".to_vec(), None).0, "café");
    }

    #[test]
    fn charset_of_content_type() {
        assert_eq!(
            charset_of(Some("application/rss+xml; charset=\"ISO-8859-1\"")),
            Encoding::for_label(b"windows-1252")
        );
        assert_eq!(charset_of(Some("text/xml")), None);
        assert_eq!(charset_of(Some("text/xml; charset=klingon")), None);
    }
}
