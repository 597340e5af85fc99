//! Tables for the terminal: columns sized on the *display* width of their cells (an
//! accented letter is one column, a CJK ideograph two, a combining mark none), and every
//! cell cleaned of what would move or recolour the terminal's text — control characters
//! (escape sequences, line breaks) and bidirectional overrides (a U+202E in a hostile
//! title would print what follows it backwards, URLs included).

use std::io::{self, Write};

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How a column lines its cells up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

enum Row {
    Cells(Vec<String>),
    /// A line under the previous row, outside the columns (a delivery of an alert).
    Note(String),
}

/// A table: a header, rows of cells, and free lines between rows.
pub struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
    /// Widest a cell of each column may be (display columns); longer ones end with "…".
    max: Vec<usize>,
    rows: Vec<Row>,
}

/// What a terminal may show of `s`: one line, without control characters or
/// bidirectional controls, spaces collapsed.
pub fn clean(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|c| !is_bidi(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::text::single_line(&kept)
}

/// [`clean`] line by line: a message of several lines (an error with its cause, a query
/// with a caret under the column) keeps its lines, each made safe.
pub fn clean_lines(s: &str) -> String {
    s.lines()
        .map(|l| {
            // Leading spaces carry meaning here (the caret's column).
            let indent = l.len() - l.trim_start_matches(' ').len();
            format!("{}{}", &l[..indent], clean(l))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Bidirectional embeddings, overrides, isolates and marks.
fn is_bidi(c: char) -> bool {
    crate::notify::chat::is_bidi_control(c) || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Display width of a cleaned cell.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` cut to `max` display columns, ending with "…" when cut.
pub fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw + 1 > max {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

impl Table {
    /// Columns by (header, alignment, widest cell in display columns).
    pub fn new(columns: &[(&str, Align, usize)]) -> Table {
        Table {
            headers: columns.iter().map(|c| c.0.to_string()).collect(),
            align: columns.iter().map(|c| c.1).collect(),
            max: columns.iter().map(|c| c.2).collect(),
            rows: Vec::new(),
        }
    }

    /// A row; each cell is cleaned and cut to its column's widest.
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let cells = cells
            .into_iter()
            .zip(&self.max)
            .map(|(c, &max)| fit(&clean(c.as_ref()), max))
            .collect();
        self.rows.push(Row::Cells(cells));
    }

    /// A free line under the last row, cleaned, outside the columns.
    pub fn note(&mut self, text: &str) {
        self.rows.push(Row::Note(clean(text)));
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the header and rows; the last column is not padded.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for r in &self.rows {
            if let Row::Cells(cells) = r {
                for (w, c) in widths.iter_mut().zip(cells) {
                    *w = (*w).max(width(c));
                }
            }
        }
        self.line(out, &self.headers, &widths)?;
        for r in &self.rows {
            match r {
                Row::Cells(cells) => self.line(out, cells, &widths)?,
                Row::Note(n) => writeln!(out, "  {n}")?,
            }
        }
        Ok(())
    }

    fn line(&self, out: &mut impl Write, cells: &[String], widths: &[usize]) -> io::Result<()> {
        let mut line = String::new();
        let last = cells.len().saturating_sub(1);
        for (i, c) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[i].saturating_sub(width(c)));
            match self.align[i] {
                Align::Right => {
                    line.push_str(&pad);
                    line.push_str(c);
                }
                Align::Left if i == last => line.push_str(c),
                Align::Left => {
                    line.push_str(c);
                    line.push_str(&pad);
                }
            }
            if i != last {
                line.push_str("  ");
            }
        }
        writeln!(out, "{}", line.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &Table) -> String {
        let mut v = Vec::new();
        t.write(&mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn columns_align_on_display_width() {
        let mut t = Table::new(&[("name", Align::Left, 30), ("n", Align::Right, 5)]);
        t.row(["Zoë Ångström", "3"]);
        t.row(["東京の店", "12"]);
        t.row(["e\u{301}cole", "7"]);
        let out = render(&t);
        // Every "n" column ends at the same display column.
        let ends: Vec<usize> = out.lines().map(width).collect();
        assert!(ends.iter().all(|&w| w == ends[0]), "{out}\n{ends:?}");
    }

    #[test]
    fn cells_lose_control_and_bidi_characters() {
        let mut t = Table::new(&[("title", Align::Left, 80)]);
        t.row(["evil\u{202E}gnp.exe\x1b[31m red\nline"]);
        let out = render(&t);
        assert!(
            !out.contains('\u{202E}') && !out.contains('\x1b'),
            "{out:?}"
        );
        assert_eq!(out.lines().count(), 2, "{out:?}");
    }

    #[test]
    fn long_cells_are_cut_on_display_width() {
        assert_eq!(fit("東京東京東京", 5), "東京…");
        assert_eq!(width(&fit("abcdefgh", 5)), 5);
    }

    #[test]
    fn messages_keep_their_lines_and_indents_and_lose_bidi_controls() {
        let m = clean_lines("invalid query: column 3\n  acme \u{202E}x\n    ^");
        assert_eq!(m, "invalid query: column 3\n  acme x\n    ^");
    }
}
