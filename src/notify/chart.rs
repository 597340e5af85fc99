//! The digest's volume chart: one bar per hour or day with its time axis and values,
//! drawn on the server into a pixel buffer and encoded as PNG (the `png` crate), because
//! e-mail clients show neither SVG nor scripts. Text is drawn with the bitmap fonts of
//! `embedded-graphics`, large enough to read once a phone has shrunk the image.

use chrono::{DateTime, Duration, Utc};
use embedded_graphics::mono_font::{MonoFont, MonoTextStyle, iso_8859_1::FONT_10X20};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::text::{Alignment, Baseline, Text, TextStyleBuilder};

use crate::model::digest::BrandDigest;
use crate::notify::view::Locale;

pub const WIDTH: u32 = 600;
pub const HEIGHT: u32 = 220;

const BACKGROUND: Rgb888 = Rgb888::new(0xff, 0xff, 0xff);
const GRID: Rgb888 = Rgb888::new(0xe6, 0xe8, 0xeb);
const AXIS: Rgb888 = Rgb888::new(0x8a, 0x94, 0x9e);
const LABEL: Rgb888 = Rgb888::new(0x3c, 0x46, 0x50);
const BAR: Rgb888 = Rgb888::new(0x1a, 0x73, 0xe8);
const PEAK: Rgb888 = Rgb888::new(0xd9, 0x30, 0x25);

const FONT: &MonoFont<'static> = &FONT_10X20;
/// Room for the value labels on the left, the times below, the peak's value above.
const LEFT: i32 = 56;
const RIGHT: i32 = 8;
const TOP: i32 = 24;
const BOTTOM: i32 = 28;

/// A brand's mentions per bucket over a digest's period, ready to draw.
#[derive(Debug, Clone)]
pub struct Chart {
    values: Vec<u64>,
    start: DateTime<Utc>,
    step: Duration,
    locale: Locale,
}

impl Chart {
    /// The chart of `b`'s buckets, the first starting at `start`.
    pub fn of(b: &BrandDigest, start: DateTime<Utc>, locale: Locale) -> Chart {
        let step = if b.bucket == "1d" {
            Duration::days(1)
        } else {
            Duration::hours(1)
        };
        Chart {
            values: b.buckets.clone(),
            start,
            step,
            locale,
        }
    }

    fn time_label(&self, at: DateTime<Utc>) -> String {
        if self.step >= Duration::days(1) {
            match self.locale {
                Locale::Fr => at.format("%d/%m").to_string(),
                Locale::En => at.format("%b %d").to_string(),
            }
        } else {
            at.format("%H:%M").to_string()
        }
    }

    /// What the chart shows, for the image's `alt` text (read aloud, shown when images
    /// are blocked): the period, the peak and when.
    pub fn alt(&self) -> String {
        let max = self.values.iter().copied().max().unwrap_or(0);
        let total: u64 = self.values.iter().sum();
        let peak = self.values.iter().position(|v| *v == max).unwrap_or(0);
        let at = self.time_label(self.start + self.step * peak as i32);
        let per = if self.step >= Duration::days(1) {
            ("day", "jour")
        } else {
            ("hour", "heure")
        };
        match self.locale {
            Locale::En => {
                format!(
                    "Mentions per {}: {total} in all, at most {max} ({at})",
                    per.0
                )
            }
            Locale::Fr => format!(
                "Mentions par {}\u{a0}: {total} en tout, au plus {max} ({at})",
                per.1
            ),
        }
    }

    /// The chart as PNG bytes: bars (the highest in red, its value above it), the zero
    /// line, the maximum and half on the value axis, and times along the time axis.
    pub fn png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut canvas = Canvas::new(WIDTH, HEIGHT);
        let (w, h) = (WIDTH as i32, HEIGHT as i32);
        let (plot_w, plot_h) = (w - LEFT - RIGHT, h - TOP - BOTTOM);
        let base = TOP + plot_h;
        let max = self.values.iter().copied().max().unwrap_or(0);
        // A round top for the value axis, so its labels are numbers people say.
        let top = nice_ceiling(max.max(1));
        let y_of = |v: u64| base - ((v as f64 / top as f64) * plot_h as f64).round() as i32;
        let right = Alignment::Right;
        for v in [top / 2, top] {
            if v == 0 || (v == top / 2 && top < 2) {
                continue;
            }
            let y = y_of(v);
            canvas.hline(LEFT, w - RIGHT, y, GRID);
            canvas.text(&v.to_string(), LEFT - 6, y, right, Baseline::Middle, LABEL);
        }
        canvas.text("0", LEFT - 6, base, right, Baseline::Middle, LABEL);
        let n = self.values.len().max(1);
        let slot = plot_w as f64 / n as f64;
        let gap = if slot >= 4.0 { 1.0 } else { 0.0 };
        let peak = (max > 0)
            .then(|| self.values.iter().position(|v| *v == max))
            .flatten();
        for (i, v) in self.values.iter().enumerate() {
            if *v == 0 {
                continue;
            }
            let x0 = (LEFT as f64 + i as f64 * slot + gap) as i32;
            let x1 = ((LEFT as f64 + (i + 1) as f64 * slot - gap) as i32).max(x0 + 1);
            let y0 = y_of(*v).min(base - 1);
            let color = if Some(i) == peak { PEAK } else { BAR };
            canvas.rect(x0, y0, x1, base, color);
        }
        if let Some(i) = peak {
            let x = (LEFT as f64 + (i as f64 + 0.5) * slot) as i32;
            let x = x.clamp(LEFT + 10, w - RIGHT - 10);
            let label = max.to_string();
            canvas.text(
                &label,
                x,
                y_of(max) - 3,
                Alignment::Center,
                Baseline::Bottom,
                PEAK,
            );
        }
        canvas.hline(LEFT, w - RIGHT, base, AXIS);
        // Time labels: as many as fit without touching, on bucket boundaries.
        let label_w = FONT.character_size.width as i32 * 6;
        let fit = (plot_w / (label_w + 16)).max(1) as usize;
        let every = n.div_ceil(fit).max(1);
        // Days name their bar (under its middle); hours name the instant a bar starts.
        let days = self.step >= Duration::days(1);
        for i in (0..n).step_by(every) {
            let offset = if days { 0.5 } else { 0.0 };
            let x = (LEFT as f64 + (i as f64 + offset) * slot) as i32;
            canvas.vline(x, base, base + 4, AXIS);
            let label = self.time_label(self.start + self.step * i as i32);
            let align = if i == 0 && !days {
                Alignment::Left
            } else {
                Alignment::Center
            };
            canvas.text(&label, x, base + 5, align, Baseline::Top, LABEL);
        }
        canvas.encode()
    }
}

/// The smallest of 1, 2 or 5 × 10ⁿ at least `v`.
fn nice_ceiling(v: u64) -> u64 {
    let mut p = 1u64;
    loop {
        for m in [1, 2, 5] {
            if let Some(c) = p.checked_mul(m)
                && c >= v
            {
                return c;
            }
        }
        match p.checked_mul(10) {
            Some(next) => p = next,
            None => return v,
        }
    }
}

/// An RGB pixel buffer that `embedded-graphics` draws text into.
struct Canvas {
    w: u32,
    h: u32,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Canvas {
        let mut px = vec![0u8; (w * h * 3) as usize];
        for p in px.chunks_exact_mut(3) {
            p.copy_from_slice(&[BACKGROUND.r(), BACKGROUND.g(), BACKGROUND.b()]);
        }
        Canvas { w, h, px }
    }

    fn put(&mut self, x: i32, y: i32, c: Rgb888) {
        if x >= 0 && y >= 0 && (x as u32) < self.w && (y as u32) < self.h {
            let i = ((y as u32 * self.w + x as u32) * 3) as usize;
            self.px[i..i + 3].copy_from_slice(&[c.r(), c.g(), c.b()]);
        }
    }

    fn hline(&mut self, x0: i32, x1: i32, y: i32, c: Rgb888) {
        (x0..x1).for_each(|x| self.put(x, y, c));
    }

    fn vline(&mut self, x: i32, y0: i32, y1: i32, c: Rgb888) {
        (y0..y1).for_each(|y| self.put(x, y, c));
    }

    fn rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, c: Rgb888) {
        (y0..y1).for_each(|y| self.hline(x0, x1, y, c));
    }

    fn text(&mut self, s: &str, x: i32, y: i32, align: Alignment, base: Baseline, c: Rgb888) {
        let style = MonoTextStyle::new(FONT, c);
        let layout = TextStyleBuilder::new()
            .alignment(align)
            .baseline(base)
            .build();
        // Drawing into the buffer cannot fail (`Error = Infallible`).
        let _ = Text::with_text_style(s, Point::new(x, y), style, layout).draw(self);
    }

    fn encode(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.w, self.h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_compression(png::Compression::High);
            let mut writer = enc.write_header()?;
            writer.write_image_data(&self.px)?;
        }
        Ok(out)
    }
}

impl OriginDimensions for Canvas {
    fn size(&self) -> Size {
        Size::new(self.w, self.h)
    }
}

impl DrawTarget for Canvas {
    type Color = Rgb888;
    type Error = std::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(p, c) in pixels {
            self.put(p.x, p.y, c);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(values: &[u64], bucket: &str, locale: Locale) -> Chart {
        Chart {
            values: values.to_vec(),
            start: "2026-03-13T08:00:00Z".parse().unwrap(),
            step: if bucket == "1d" {
                Duration::days(1)
            } else {
                Duration::hours(1)
            },
            locale,
        }
    }

    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        (info.width, info.height, buf)
    }

    fn count(
        buf: &[u8],
        c: Rgb888,
        rows: std::ops::Range<u32>,
        cols: std::ops::Range<u32>,
    ) -> usize {
        rows.flat_map(|y| cols.clone().map(move |x| (x, y)))
            .filter(|(x, y)| {
                let i = ((y * WIDTH + x) * 3) as usize;
                buf[i..i + 3] == [c.r(), c.g(), c.b()]
            })
            .count()
    }

    #[test]
    fn bars_axes_and_labels_are_drawn() {
        let values = [1, 3, 0, 7, 2, 0, 0, 4, 1, 1, 0, 2];
        let bytes = chart(&values, "1h", Locale::En).png().unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(bytes.len() < 16 * 1024, "{} bytes", bytes.len());
        let (w, h, buf) = decode(&bytes);
        assert_eq!((w, h), (WIDTH, HEIGHT));
        // The peak bar (index 3) is red in its middle, the others blue.
        let slot = (WIDTH as i32 - LEFT - RIGHT) as f64 / values.len() as f64;
        let x = (LEFT as f64 + 3.5 * slot) as u32;
        let y = (HEIGHT as i32 - BOTTOM - 5) as u32;
        assert!(count(&buf, PEAK, y..y + 1, x..x + 1) == 1);
        let x1 = (LEFT as f64 + 1.5 * slot) as u32;
        assert!(count(&buf, BAR, y..y + 1, x1..x1 + 1) == 1);
        // Text on the value axis (left margin) and the time axis (bottom margin).
        assert!(count(&buf, LABEL, 0..HEIGHT, 0..LEFT as u32 - 4) > 30);
        let bottom = HEIGHT - BOTTOM as u32 + 4..HEIGHT;
        assert!(count(&buf, LABEL, bottom, 0..WIDTH) > 60);
        // The peak's value in red just above its bar (7 on an axis up to 10).
        let plot_h = (HEIGHT as i32 - TOP - BOTTOM) as f64;
        let bar_top = (HEIGHT as i32 - BOTTOM - (0.7 * plot_h).round() as i32) as u32;
        assert!(count(&buf, PEAK, bar_top - 22..bar_top - 1, 0..WIDTH) > 5);
    }

    #[test]
    fn an_empty_period_draws_axes_only() {
        for v in [&[][..], &[0, 0][..]] {
            let (_, _, buf) = decode(&chart(v, "1h", Locale::Fr).png().unwrap());
            assert_eq!(count(&buf, PEAK, 0..HEIGHT, 0..WIDTH), 0);
            assert_eq!(count(&buf, BAR, 0..HEIGHT, 0..WIDTH), 0);
        }
    }

    #[test]
    fn round_value_axis_and_readable_alt_text() {
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(13), 20);
        assert_eq!(nice_ceiling(42), 50);
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(u64::MAX), u64::MAX);
        let c = chart(&[1, 5, 2], "1d", Locale::Fr);
        assert_eq!(
            c.alt(),
            "Mentions par jour\u{a0}: 8 en tout, au plus 5 (14/03)"
        );
        let c = chart(&[1, 5, 2], "1h", Locale::En);
        assert_eq!(c.alt(), "Mentions per hour: 8 in all, at most 5 (09:00)");
    }
}
