//! Line charts as PNG, in pure Rust: lines drawn with anti-aliasing on an RGB canvas, text
//! rasterized from the shipped DejaVu Sans (assets/, with its licence), encoded with `png`.

use std::path::Path;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

const W: usize = 1000;
const H: usize = 420;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

pub type Rgb = [u8; 3];
pub const BLUE: Rgb = [31, 119, 180];
pub const ORANGE: Rgb = [255, 127, 14];
pub const GREEN: Rgb = [44, 160, 44];
pub const RED: Rgb = [214, 39, 40];
pub const PURPLE: Rgb = [148, 103, 189];
const GRID: Rgb = [225, 225, 225];
const INK: Rgb = [40, 40, 40];

/// One line of a chart.
pub struct Series<'a> {
    pub label: &'a str,
    pub color: Rgb,
    pub points: Vec<(f64, f64)>,
}

struct Canvas {
    px: Vec<u8>,
    font: FontRef<'static>,
}

impl Canvas {
    fn new() -> Self {
        Self {
            px: vec![255; W * H * 3],
            font: FontRef::try_from_slice(FONT).expect("the shipped font parses"),
        }
    }

    fn blend(&mut self, x: i64, y: i64, c: Rgb, alpha: f64) {
        if x < 0 || y < 0 || x >= W as i64 || y >= H as i64 || alpha <= 0.0 {
            return;
        }
        let i = (y as usize * W + x as usize) * 3;
        let a = alpha.min(1.0);
        for (px, &target) in self.px[i..i + 3].iter_mut().zip(c.iter()) {
            let old = *px as f64;
            *px = (old + (target as f64 - old) * a).round() as u8;
        }
    }

    /// Anti-aliased line of width ~2 px (sampled along its length).
    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), c: Rgb, width: f64) {
        let len = ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt().max(1.0);
        let steps = (len * 2.0) as usize + 1;
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            let r = width / 2.0;
            for py in (y - r - 1.0).floor() as i64..=(y + r + 1.0).ceil() as i64 {
                for px in (x - r - 1.0).floor() as i64..=(x + r + 1.0).ceil() as i64 {
                    let d = ((px as f64 + 0.5 - x).powi(2) + (py as f64 + 0.5 - y).powi(2)).sqrt();
                    self.blend(px, py, c, (r + 0.5 - d).clamp(0.0, 1.0) * 0.6);
                }
            }
        }
    }

    fn rect(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: Rgb) {
        for y in y0 as i64..y1 as i64 {
            for x in x0 as i64..x1 as i64 {
                self.blend(x, y, c, 1.0);
            }
        }
    }

    /// Width of `text` at `size` px.
    fn text_width(&self, text: &str, size: f32) -> f64 {
        let f = self.font.as_scaled(PxScale::from(size));
        text.chars()
            .map(|ch| f.h_advance(f.glyph_id(ch)) as f64)
            .sum()
    }

    /// Text with its baseline-left at (x, y).
    fn text(&mut self, text: &str, x: f64, y: f64, size: f32, c: Rgb) {
        let scale = PxScale::from(size);
        let mut pen = x as f32;
        for ch in text.chars() {
            let scaled = self.font.as_scaled(scale);
            let id = scaled.glyph_id(ch);
            let glyph = id.with_scale_and_position(scale, ab_glyph::point(pen, y as f32));
            pen += scaled.h_advance(id);
            if let Some(outline) = self.font.outline_glyph(glyph) {
                let b = outline.px_bounds();
                let mut hits = Vec::new();
                outline.draw(|gx, gy, cov| {
                    hits.push((b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64, cov))
                });
                for (px, py, cov) in hits {
                    self.blend(px, py, c, cov as f64);
                }
            }
        }
    }

    fn save(&self, path: &Path) -> Result<(), String> {
        let file = std::fs::File::create(path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), W as u32, H as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(&self.px).map_err(|e| e.to_string())
    }
}

/// Round axis bounds and ~5 ticks covering `[lo, hi]`.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(f64::EPSILON);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).floor() * step;
    (0..=8)
        .map(|i| first + i as f64 * step)
        .take_while(|v| *v <= hi + step * 0.999)
        .collect()
}

/// Draw `series` over a shared x axis (unix seconds, labelled by `x_label`) and write `path`.
pub fn line_chart(
    path: &Path,
    title: &str,
    y_unit: &str,
    series: &[Series],
    x_label: impl Fn(f64) -> String,
) -> Result<(), String> {
    let mut c = Canvas::new();
    let all = || series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all() {
        if y.is_finite() {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if x0 > x1 {
        return Err(format!("no data for chart {title}"));
    }
    if (y1 - y0).abs() < 1e-12 {
        y0 -= 1.0;
        y1 += 1.0;
    }
    let yt = ticks(y0, y1);
    let (y0, y1) = (yt[0].min(y0), yt[yt.len() - 1].max(y1));
    let (pw, ph) = (W as f64 - LEFT - RIGHT, H as f64 - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0).max(1.0) * pw;
    let sy = |y: f64| TOP + ph - (y - y0) / (y1 - y0) * ph;

    for &t in &yt {
        let y = sy(t);
        c.rect(LEFT, y, LEFT + pw, y + 1.0, GRID);
        let label = format!(
            "{}{y_unit}",
            fmt_tick(t, yt.get(1).map(|s| s - yt[0]).unwrap_or(1.0))
        );
        let w = c.text_width(&label, 13.0);
        c.text(&label, LEFT - 8.0 - w, y + 4.0, 13.0, INK);
    }
    for i in 0..=5 {
        let x = x0 + (x1 - x0) * i as f64 / 5.0;
        let label = x_label(x);
        let w = c.text_width(&label, 13.0);
        c.rect(sx(x), TOP, sx(x) + 1.0, TOP + ph, GRID);
        c.text(
            &label,
            (sx(x) - w / 2.0).clamp(2.0, W as f64 - w - 2.0),
            TOP + ph + 20.0,
            13.0,
            INK,
        );
    }
    c.rect(LEFT, TOP + ph, LEFT + pw, TOP + ph + 1.5, INK);
    c.rect(LEFT, TOP, LEFT + 1.5, TOP + ph, INK);
    c.text(title, LEFT, 30.0, 18.0, INK);

    let mut legend_x = LEFT + pw;
    for s in series.iter().rev() {
        let w = c.text_width(s.label, 13.0);
        legend_x -= w + 34.0;
        c.rect(legend_x, 22.0, legend_x + 20.0, 26.0, s.color);
        c.text(s.label, legend_x + 26.0, 30.0, 13.0, INK);
    }
    for s in series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|(_, y)| y.is_finite())
            .map(|&(x, y)| (sx(x), sy(y)))
            .collect();
        for w in pts.windows(2) {
            c.line(w[0], w[1], s.color, 2.0);
        }
    }
    c.save(path)
}

fn fmt_tick(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    let s = format!("{v:.decimals$}");
    if v.abs() >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v.abs() >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_cover_the_range() {
        let t = ticks(0.3, 9.7);
        assert!(t[0] <= 0.3 && *t.last().unwrap() >= 9.7 - 1e-9, "{t:?}");
        assert!(t.len() >= 3 && t.len() <= 9);
    }

    #[test]
    fn writes_a_png() {
        let dir = std::env::temp_dir().join(format!("tidepool-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.png");
        let s = Series {
            label: "x²",
            color: BLUE,
            points: (0..50)
                .map(|i| (i as f64 * 3600.0, (i * i) as f64))
                .collect(),
        };
        line_chart(&path, "test", "", &[s], |x| format!("{x:.0}")).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(line_chart(&path, "empty", "", &[], |x| format!("{x}")).is_err());
    }
}
