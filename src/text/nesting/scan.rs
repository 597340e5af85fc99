//! Finding tags the way the HTML tokenizer does, without building tokens.

use std::borrow::Cow;

use memchr::memmem;

/// A tag as the HTML tokenizer sees it.
pub(super) struct Tag<'a> {
    /// Byte range of the whole tag in the document.
    pub(super) start: usize,
    pub(super) end: usize,
    /// Lower case.
    pub(super) name: Cow<'a, str>,
    pub(super) end_tag: bool,
    pub(super) self_closing: bool,
    /// Has a `color`, `face` or `size` attribute (a `<font>` that leaves SVG content).
    pub(super) font_attr: bool,
}

/// Finds tags, comments and raw text the way the HTML tokenizer does (WHATWG §13.2.5),
/// without building tokens: tag boundaries are all the depth estimate needs.
pub(super) struct Scanner<'a> {
    s: &'a str,
    pos: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

impl<'a> Scanner<'a> {
    pub(super) fn new(s: &'a str) -> Scanner<'a> {
        Scanner { s, pos: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    /// Position just after the next `>` at or after `from` (the end when there is none).
    fn after_gt(&self, from: usize) -> usize {
        memchr::memchr(b'>', &self.bytes()[from.min(self.s.len())..])
            .map_or(self.s.len(), |i| from + i + 1)
    }

    fn after(&self, from: usize, needle: &[u8]) -> usize {
        let from = from.min(self.s.len());
        memmem::find(&self.bytes()[from..], needle)
            .map_or(self.s.len(), |i| from + i + needle.len())
    }

    pub(super) fn next_tag(&mut self, foreign: bool) -> Option<Tag<'a>> {
        let b = self.bytes();
        loop {
            let lt = self.pos + memchr::memchr(b'<', &b[self.pos..])?;
            let rest = &b[lt + 1..];
            match rest.first() {
                Some(b'!') if rest.starts_with(b"!--") => {
                    // `<!-->` and `<!--->` end at once; otherwise `-->` or `--!>`.
                    let body = lt + 4;
                    self.pos = if b[body..].starts_with(b">") {
                        body + 1
                    } else if b[body..].starts_with(b"->") {
                        body + 2
                    } else {
                        self.after(body, b"-->").min(self.after(body, b"--!>"))
                    };
                }
                Some(b'!') if foreign && rest.starts_with(b"![CDATA[") => {
                    self.pos = self.after(lt + 9, b"]]>");
                }
                // Doctype, bogus comments.
                Some(b'!' | b'?') => self.pos = self.after_gt(lt + 2),
                Some(b'/') => match rest.get(1) {
                    Some(c) if c.is_ascii_alphabetic() => return self.tag(lt, lt + 2, true),
                    Some(_) => self.pos = self.after_gt(lt + 2),
                    None => return None,
                },
                Some(c) if c.is_ascii_alphabetic() => return self.tag(lt, lt + 1, false),
                // A `<` that starts nothing is text.
                _ => self.pos = lt + 1,
            }
        }
    }

    /// Reads a tag whose name starts at `i`; `None` at the end of input (the tokenizer
    /// drops a tag left open at the end).
    fn tag(&mut self, start: usize, i: usize, end_tag: bool) -> Option<Tag<'a>> {
        let b = self.bytes();
        let mut j = i;
        while j < b.len() && !is_space(b[j]) && b[j] != b'/' && b[j] != b'>' {
            j += 1;
        }
        let raw = &self.s[i..j];
        let name = if raw.bytes().any(|c| c.is_ascii_uppercase()) {
            Cow::Owned(raw.to_ascii_lowercase())
        } else {
            Cow::Borrowed(raw)
        };
        let (mut self_closing, mut font_attr) = (false, false);
        // Attributes: names, then values in quotes (which may hold `>`) or bare.
        loop {
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            match b.get(j)? {
                b'>' => break,
                b'/' => {
                    j += 1;
                    if b.get(j) == Some(&b'>') {
                        self_closing = true;
                        break;
                    }
                    continue;
                }
                _ => {}
            }
            let name_start = j;
            j += 1; // a first `=` belongs to the name
            while j < b.len() && !is_space(b[j]) && !matches!(b[j], b'/' | b'>' | b'=') {
                j += 1;
            }
            let attr = &b[name_start..j];
            font_attr |= [&b"color"[..], b"face", b"size"]
                .iter()
                .any(|n| attr.eq_ignore_ascii_case(n));
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            if b.get(j) != Some(&b'=') {
                continue;
            }
            j += 1;
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            match b.get(j)? {
                q @ (b'"' | b'\'') => {
                    let close = memchr::memchr(*q, &b[j + 1..])?;
                    j += close + 2;
                }
                b'>' => break,
                _ => {
                    while j < b.len() && !is_space(b[j]) && b[j] != b'>' {
                        j += 1;
                    }
                }
            }
        }
        self.pos = j + 1;
        Some(Tag {
            start,
            end: j + 1,
            name,
            end_tag,
            self_closing,
            font_attr,
        })
    }

    /// Skips the text of `<script>`, `<style>`, `<textarea>`… up to its end tag.
    pub(super) fn skip_raw_text(&mut self, name: &str) {
        let b = self.bytes();
        let n = name.len();
        let mut from = self.pos;
        while let Some(i) = memmem::find(&b[from..], b"</") {
            let at = from + i;
            let end = at + 2 + n;
            if b.len() > end
                && b[at + 2..end].eq_ignore_ascii_case(name.as_bytes())
                && (is_space(b[end]) || matches!(b[end], b'/' | b'>'))
            {
                self.pos = at;
                return;
            }
            from = at + 2;
        }
        self.pos = b.len();
    }
}
