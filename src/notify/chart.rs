//! The digest's volume chart: one bar per hour or day, drawn into a pixel buffer and
//! encoded as PNG (the `png` crate), small enough to inline in an e-mail. Labels (dates,
//! the maximum) are in the e-mail's HTML around it, where they stay sharp and
//! translatable.

pub const WIDTH: u32 = 600;
pub const HEIGHT: u32 = 140;

const BACKGROUND: [u8; 3] = [0xff, 0xff, 0xff];
const GRID: [u8; 3] = [0xe6, 0xe8, 0xeb];
const BAR: [u8; 3] = [0x1a, 0x73, 0xe8];
const PEAK: [u8; 3] = [0xd9, 0x30, 0x25];

/// A bar chart of `values` as PNG bytes; the highest bar is drawn in red.
pub fn bars(values: &[u64]) -> Result<Vec<u8>, png::EncodingError> {
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    let mut px = vec![0u8; w * h * 3];
    for p in px.chunks_exact_mut(3) {
        p.copy_from_slice(&BACKGROUND);
    }
    let mut put = |x: usize, y: usize, c: [u8; 3]| {
        if x < w && y < h {
            let i = (y * w + x) * 3;
            px[i..i + 3].copy_from_slice(&c);
        }
    };
    let margin = 4usize;
    let plot_h = h - 2 * margin;
    // Grid: the baseline, half and full height.
    for frac in [0.0, 0.5, 1.0] {
        let y = h - margin - ((plot_h - 1) as f64 * frac) as usize - 1;
        for x in margin..w - margin {
            put(x, y, GRID);
        }
    }
    let max = values.iter().copied().max().unwrap_or(0);
    if !values.is_empty() && max > 0 {
        let slot = (w - 2 * margin) as f64 / values.len() as f64;
        let gap = if slot >= 4.0 { 1.0 } else { 0.0 };
        let peak = values.iter().position(|v| *v == max);
        for (i, v) in values.iter().enumerate() {
            if *v == 0 {
                continue;
            }
            let x0 = margin as f64 + i as f64 * slot + gap;
            let x1 = (margin as f64 + (i + 1) as f64 * slot - gap).max(x0 + 1.0);
            let bar_h = ((*v as f64 / max as f64) * (plot_h - 1) as f64).max(1.0) as usize;
            let color = if Some(i) == peak { PEAK } else { BAR };
            for x in x0 as usize..x1 as usize {
                for y in (h - margin - bar_h)..(h - margin) {
                    put(x, y, color);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::High);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&px)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_valid_png_whose_peak_is_red() {
        let png_bytes = bars(&[1, 3, 0, 7, 2]).unwrap();
        assert!(png_bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png_bytes.len() < 4096, "{} bytes", png_bytes.len());
        let dec = png::Decoder::new(std::io::Cursor::new(&png_bytes));
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        // The fourth bar (index 3, the peak) is red at mid-height of the plot.
        let slot = (WIDTH as usize - 8) / 5;
        let x = 4 + 3 * slot + slot / 2;
        let y = HEIGHT as usize / 2;
        let i = (y * WIDTH as usize + x) * 3;
        assert_eq!(&buf[i..i + 3], &PEAK);
        // An empty period draws only the grid.
        assert!(bars(&[]).is_ok() && bars(&[0, 0]).is_ok());
    }
}
