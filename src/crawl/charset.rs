//! Bytes to text, leniently: a document whose declared charset does not match its bytes
//! is read with the best guess, never rejected.
//!
//! Order: a BOM; then UTF-16 known by its zero bytes (an XML document starts with ASCII
//! `<`, which UTF-16 writes as `00 3C` or `3C 00`); then valid UTF-8 (what almost every
//! document really is, whatever its label says: "declared one thing, sent another" is
//! settled by the bytes); then the declared charset. A document declared UTF-8 (or not
//! declared at all) that is not valid UTF-8 is either UTF-8 with a few stray bytes —
//! each read as windows-1252, what they really are (a `’` pasted from a word processor)
//! — or a whole document in a legacy encoding nobody named (Shift_JIS, EUC-KR, KOI8-R…),
//! whose encoding chardetng guesses from the bytes, as browsers do.

use std::borrow::Cow;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
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
    /// The encoding was guessed from the bytes (not UTF-8, and no charset declared but
    /// UTF-8): worth a warning, the guess can be wrong on short documents.
    pub guessed: bool,
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
        guessed: false,
    };
    // A BOM wins over every label.
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        return read(enc, enc.decode_without_bom_handling(&bytes[bom..]).0);
    }
    // UTF-16 without a BOM: its ASCII would pass for UTF-8 (with NULs), so it is known
    // by its zero bytes, or by its label when those say nothing.
    let utf16 = sniff_utf16(bytes).or_else(|| {
        declared
            .filter(|e| is_utf16(e))
            .filter(|_| std::str::from_utf8(bytes).is_err())
    });
    if let Some(enc) = utf16 {
        return read(enc, enc.decode_without_bom_handling(bytes).0);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return read(UTF_8, Cow::Borrowed(s));
    }
    match declared.filter(|e| !is_utf16(e)) {
        Some(enc) if enc != UTF_8 => read(enc, enc.decode_without_bom_handling(bytes).0),
        _ if mostly_utf8(bytes) => utf8_or_windows_1252(bytes),
        _ => {
            let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
            detector.feed(bytes, true);
            let enc = detector.guess(None, Utf8Detection::Deny);
            Decoded {
                guessed: true,
                ..read(enc, enc.decode_without_bom_handling(bytes).0)
            }
        }
    }
}

fn is_utf16(e: &'static Encoding) -> bool {
    e == UTF_16LE || e == UTF_16BE
}

/// UTF-16 by its zero bytes: in the first 128 bytes, the bytes of one parity are mostly
/// zero (ASCII markup) and those of the other never are.
fn sniff_utf16(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(128) & !1];
    if head.len() < 4 {
        return None;
    }
    let pairs = head.len() / 2;
    let zero = |parity: usize| {
        head.iter()
            .skip(parity)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let (even, odd) = (zero(0), zero(1));
    if even == 0 && odd * 4 >= pairs * 3 {
        Some(UTF_16LE)
    } else if odd == 0 && even * 4 >= pairs * 3 {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// UTF-8 with a few stray bytes, rather than a legacy encoding: the valid non-ASCII
/// characters are at least twice as many as the invalid sequences. (Legacy CJK bytes
/// form a valid UTF-8 pair by chance about once in ten, and Latin ones almost never.)
fn mostly_utf8(bytes: &[u8]) -> bool {
    let (mut valid, mut invalid) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        valid += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += usize::from(!chunk.invalid().is_empty());
    }
    valid >= 2 * invalid
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
        guessed: false,
    }
}

/// Takes ownership: no copy when the body is valid UTF-8 (the common case).
pub fn decode_owned(bytes: Vec<u8>, declared: Option<&'static Encoding>) -> (String, usize) {
    if Encoding::for_bom(&bytes).is_none() && sniff_utf16(&bytes).is_none() {
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
    fn utf16_without_a_bom_is_known_by_its_zero_bytes() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss><title>Été</title></rss>";
        for enc in [UTF_16LE, UTF_16BE] {
            let bytes: Vec<u8> = doc
                .encode_utf16()
                .flat_map(|u| {
                    if enc == UTF_16LE {
                        u.to_le_bytes()
                    } else {
                        u.to_be_bytes()
                    }
                })
                .collect();
            let d = decode(&bytes, None);
            assert_eq!((d.text.as_ref(), d.encoding), (doc, enc));
            assert_eq!(decode_owned(bytes, Some(UTF_8)).0, doc);
        }
    }

    #[test]
    fn a_utf16_label_on_utf8_bytes_is_wrong() {
        // Declared one thing, sent another: the bytes decide.
        let d = decode("<rss>Café</rss>".as_bytes(), Some(UTF_16BE));
        assert_eq!((d.text.as_ref(), d.encoding), ("<rss>Café</rss>", UTF_8));
    }

    /// `text` in `enc`, inside ASCII markup as a feed carries it.
    fn feed_in(enc: &'static Encoding, text: &str) -> Vec<u8> {
        let doc = format!("<rss><channel><item><title>{text}</title></item></channel></rss>");
        let (bytes, _, unmappable) = enc.encode(&doc);
        assert!(!unmappable, "{text} in {}", enc.name());
        bytes.into_owned()
    }

    #[test]
    fn undeclared_legacy_encodings_are_guessed_from_the_bytes() {
        for (label, text) in [
            (
                "shift_jis",
                "DrecomRSSに記事投稿が反映されない問題について調べました",
            ),
            (
                "euc-jp",
                "ゲーム三昧な正月を過ごしましたが、仕事始めは明日からです",
            ),
            ("euc-kr", "한글 닉네임을 표시하는 방법을 알려드립니다"),
            ("gbk", "不归移民漫画系列：专业工作与生活的故事"),
            (
                "koi8-r",
                "Как пережить новогоднюю ночь и не потерять голову",
            ),
            ("windows-1252", "Le café du coin sert un thé glacé à l’été"),
        ] {
            let enc = Encoding::for_label(label.as_bytes()).unwrap();
            let bytes = feed_in(enc, text);
            assert!(std::str::from_utf8(&bytes).is_err(), "{label}");
            // Undeclared, or declared UTF-8 (a default prolog) while it is not.
            for declared in [None, Some(UTF_8)] {
                let d = decode(&bytes, declared);
                assert!(
                    d.text.contains(text),
                    "{label} read as {}: {}",
                    d.encoding.name(),
                    d.text
                );
                assert!(d.guessed && d.repaired == 0, "{label}");
            }
            // A declared legacy charset is taken as it is.
            assert!(decode(&bytes, Some(enc)).text.contains(text));
            assert!(!decode(&bytes, Some(enc)).guessed);
        }
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
