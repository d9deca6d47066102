//! Candle data in two formats, told apart by extension (`.csv`, `.json`) or, failing that,
//! by content (a JSON file starts with `[`):
//! - CSV: header `timestamp,open,high,low,close,volume`, UTC `YYYY-MM-DD HH:MM:SS` open times;
//! - freqtrade JSON: one array of rows `[open_time_ms_utc, open, high, low, close, volume]`.
//!
//! Errors name the file and the row (the line for CSV, the 1-based row for JSON).

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candle {
    /// Unix seconds of the candle's open.
    pub time: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
}

fn format_of(path: &Path, text: &str) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
        Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
        _ if text.trim_start().starts_with('[') => Format::Json,
        _ => Format::Csv,
    }
}

/// Every candle of a file, in time order (checked: strictly increasing, OHLC consistent).
pub fn load_file(path: &Path) -> Result<Vec<Candle>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read price data {}: {e}", path.display()))?;
    let rows = match format_of(path, &text) {
        Format::Csv => parse_csv(&text),
        Format::Json => parse_json(&text),
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    for (i, (row, c)) in rows.iter().enumerate() {
        let ok = c.low > 0.0
            && c.low <= c.high
            && (c.low..=c.high).contains(&c.open)
            && (c.low..=c.high).contains(&c.close);
        if !ok {
            return Err(format!(
                "{}: {row}: inconsistent candle (need 0 < low <= open, close <= high)",
                path.display()
            ));
        }
        if i > 0 && c.time <= rows[i - 1].1.time {
            return Err(format!(
                "{}: {row}: time {} is not after the previous row's",
                path.display(),
                format_time(c.time)
            ));
        }
    }
    Ok(rows.into_iter().map(|(_, c)| c).collect())
}

/// (where, candle) pairs; `where` is "line N" or "row N".
type Rows = Vec<(String, Candle)>;

fn parse_csv(text: &str) -> Result<Rows, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if n == 0 || line.trim().is_empty() {
            continue; // the header
        }
        let at = format!("line {}", n + 1);
        let bad =
            |what: &str| format!("{at}: {what} (expected timestamp,open,high,low,close,volume)");
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() < 5 {
            return Err(bad("too few fields"));
        }
        let time = parse_time(fields[0]).ok_or_else(|| {
            bad(&format!(
                "timestamp `{}` is not YYYY-MM-DD HH:MM:SS",
                fields[0]
            ))
        })?;
        let num = |i: usize| {
            fields[i]
                .trim()
                .parse::<f64>()
                .map_err(|_| bad(&format!("field {} `{}` is not a number", i + 1, fields[i])))
        };
        let c = Candle {
            time,
            open: num(1)?,
            high: num(2)?,
            low: num(3)?,
            close: num(4)?,
        };
        out.push((at, c));
    }
    Ok(out)
}

fn parse_json(text: &str) -> Result<Rows, String> {
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| format!("not a JSON array of candle rows: {e}"))?;
    let mut out = Vec::with_capacity(rows.len());
    for (n, row) in rows.iter().enumerate() {
        let at = format!("row {}", n + 1);
        let bad = |what: &str| {
            format!("{at}: {what} (expected [open_time_ms, open, high, low, close, volume])")
        };
        let fields = row.as_array().ok_or_else(|| bad("not an array"))?;
        if fields.len() < 5 {
            return Err(bad("too few fields"));
        }
        let ms = fields[0]
            .as_i64()
            .or_else(|| fields[0].as_f64().map(|x| x as i64))
            .ok_or_else(|| bad("open time is not a number of milliseconds"))?;
        if ms % 1_000 != 0 {
            return Err(bad("open time is not a whole second"));
        }
        let num = |i: usize| {
            fields[i]
                .as_f64()
                .ok_or_else(|| bad(&format!("field {} `{}` is not a number", i + 1, fields[i])))
        };
        let c = Candle {
            time: ms / 1_000,
            open: num(1)?,
            high: num(2)?,
            low: num(3)?,
            close: num(4)?,
        };
        out.push((at, c));
    }
    Ok(out)
}

/// The candle interval of a series: the most common step between consecutive candles
/// (gaps in the data, such as exchange maintenance, are longer steps and do not count).
pub fn interval(candles: &[Candle]) -> Option<i64> {
    let mut steps: Vec<i64> = candles.windows(2).map(|w| w[1].time - w[0].time).collect();
    steps.sort_unstable();
    let mut best = None;
    let mut i = 0;
    while i < steps.len() {
        let j = steps[i..].iter().take_while(|s| **s == steps[i]).count();
        if best.is_none_or(|(_, n)| j > n) {
            best = Some((steps[i], j));
        }
        i += j;
    }
    best.map(|(step, _)| step).filter(|s| *s > 0)
}

/// The candles of `all` whose open time lies in `[start, end]` (unix seconds, inclusive).
pub fn window(all: &[Candle], start: i64, end: i64) -> Vec<Candle> {
    all.iter()
        .filter(|c| (start..=end).contains(&c.time))
        .copied()
        .collect()
}

/// Align several series on the times they all have (the intersection); every output series
/// has the same times. `names` label the series in errors.
pub fn align(series: &[Vec<Candle>], names: &[String]) -> Result<Vec<Vec<Candle>>, String> {
    let Some(first) = series.first() else {
        return Err("no price series to align".into());
    };
    let mut times: Vec<i64> = first.iter().map(|c| c.time).collect();
    for s in &series[1..] {
        let have: std::collections::HashSet<i64> = s.iter().map(|c| c.time).collect();
        times.retain(|t| have.contains(t));
    }
    if times.len() < 2 {
        let ranges: Vec<String> = series
            .iter()
            .zip(names)
            .map(|(s, n)| match (s.first(), s.last()) {
                (Some(a), Some(b)) => {
                    format!("{n}: {} .. {}", format_time(a.time), format_time(b.time))
                }
                _ => format!("{n}: no candles"),
            })
            .collect();
        return Err(format!(
            "the markets' price windows do not overlap (fewer than 2 common candle times): {}",
            ranges.join("; ")
        ));
    }
    let keep: std::collections::HashSet<i64> = times.into_iter().collect();
    Ok(series
        .iter()
        .map(|s| {
            s.iter()
                .filter(|c| keep.contains(&c.time))
                .copied()
                .collect()
        })
        .collect())
}

/// `YYYY-MM-DD HH:MM:SS` (or `YYYY-MM-DD HH:MM`, or `YYYY-MM-DD`) UTC to unix seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(' ').unwrap_or((s, "00:00:00"));
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let mut t: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if t.len() == 2 {
        t.push(0);
    }
    if d.len() != 3
        || t.len() != 3
        || !(1..=12).contains(&d[1])
        || !(1..=31).contains(&d[2])
        || !(0..24).contains(&t[0])
        || !(0..60).contains(&t[1])
        || !(0..60).contains(&t[2])
    {
        return None;
    }
    Some(days_from_civil(d[0], d[1], d[2]) * 86_400 + t[0] * 3_600 + t[1] * 60 + t[2])
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds to `YYYY-MM-DD HH:MM`.
pub fn format_time(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3_600,
        secs % 3_600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../data")
            .join(name)
    }

    fn tmp(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tidepool-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn c(time: i64) -> Candle {
        Candle {
            time,
            open: 1.0,
            high: 1.0,
            low: 1.0,
            close: 1.0,
        }
    }

    #[test]
    fn times_round_trip() {
        assert_eq!(parse_time("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_time("2022-11-08 19:15:00"), Some(1_667_934_900));
        assert_eq!(parse_time("2022-11-08 19:15"), Some(1_667_934_900));
        assert_eq!(parse_time("2022-11-08"), Some(1_667_865_600));
        assert_eq!(format_time(1_667_934_900), "2022-11-08 19:15");
        assert_eq!(parse_time("2022-13-01 00:00:00"), None);
        assert_eq!(parse_time("2022-11-01 25:00:00"), None);
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn loads_the_shipped_csv() {
        let all = load_file(&shipped("SOLUSDT_1h.csv")).unwrap();
        assert_eq!(all.len(), 47_360);
        assert_eq!(interval(&all), Some(3_600));
        let start = parse_time("2022-11-08 00:00:00").unwrap();
        let c = window(&all, start, parse_time("2022-11-09 23:00:00").unwrap());
        assert_eq!(c.len(), 48);
        assert_eq!(c[0].time, start);
        assert!(c.iter().any(|c| c.low < 15.0), "the FTX crash is in it");
    }

    #[test]
    fn loads_the_shipped_freqtrade_json() {
        let sol = load_file(&shipped("SOL_USDT-15m.json")).unwrap();
        assert_eq!(sol.len(), 2_161);
        assert_eq!(interval(&sol), Some(900));
        assert_eq!(sol[0].time, parse_time("2022-11-01 00:00:00").unwrap());
        assert_eq!((sol[0].open, sol[0].close), (32.57, 32.65));
        // The biggest 15-minute drop (SOURCES.md).
        let drop = sol
            .iter()
            .find(|c| c.time == parse_time("2022-11-08 19:15:00").unwrap())
            .unwrap();
        assert_eq!((drop.open, drop.close), (23.96, 21.18));

        let btc = load_file(&shipped("BTC_USDT-1h.json")).unwrap();
        assert_eq!(btc.len(), 45_024);
        assert_eq!(interval(&btc), Some(3_600));
        let march = window(
            &btc,
            parse_time("2020-03-13 00:00:00").unwrap(),
            parse_time("2020-03-13 23:00:00").unwrap(),
        );
        assert_eq!(march.len(), 24);
        let low = march.iter().map(|c| c.low).fold(f64::MAX, f64::min);
        assert_eq!(low, 3_782.13, "Binance's Black Thursday wick");
    }

    #[test]
    fn format_is_told_by_content_without_an_extension() {
        let j = tmp("candles", "[[0,1,2,0.5,1.5,9],[3600000,1.5,2,1,1,9]]");
        assert_eq!(load_file(&j).unwrap()[1].time, 3_600);
        let c = tmp(
            "candles2",
            "timestamp,open,high,low,close,volume\n1970-01-01 01:00:00,1,2,0.5,1.5,9\n",
        );
        assert_eq!(load_file(&c).unwrap()[0].time, 3_600);
    }

    #[test]
    fn errors_name_the_file_and_row() {
        let e = load_file(Path::new("missing.csv")).unwrap_err();
        assert!(e.contains("cannot read price data missing.csv"), "{e}");
        let p = tmp(
            "bad.csv",
            "timestamp,open,high,low,close,volume\n2022-01-01 00:00:00,1,2,0.5,1,1\n2022-01-01 01:00:00,1,x,0.5,1,1\n",
        );
        let e = load_file(&p).unwrap_err();
        assert!(
            e.contains("bad.csv: line 3: field 3 `x` is not a number"),
            "{e}"
        );
        let p = tmp("bad.json", "[[0,1,2,0.5,1,1],[3600000,1,2,1.5,1,1]]");
        let e = load_file(&p).unwrap_err();
        assert!(e.contains("bad.json: row 2: inconsistent candle"), "{e}");
        let p = tmp("order.json", "[[3600000,1,2,0.5,1,1],[0,1,2,0.5,1,1]]");
        let e = load_file(&p).unwrap_err();
        assert!(e.contains("order.json: row 2: time"), "{e}");
        let p = tmp("shape.json", "[[0,1,2],[1]]");
        let e = load_file(&p).unwrap_err();
        assert!(e.contains("shape.json: row 1: too few fields"), "{e}");
        let p = tmp("notjson.json", "{\"a\": 1}");
        let e = load_file(&p).unwrap_err();
        assert!(e.contains("notjson.json: not a JSON array"), "{e}");
    }

    #[test]
    fn interval_ignores_gaps() {
        let s: Vec<Candle> = [0, 900, 1_800, 7_200, 8_100].into_iter().map(c).collect();
        assert_eq!(interval(&s), Some(900));
        assert_eq!(interval(&s[..1]), None);
    }

    #[test]
    fn alignment_keeps_the_common_times() {
        let a: Vec<Candle> = [0, 3_600, 7_200, 10_800].into_iter().map(c).collect();
        let b: Vec<Candle> = [3_600, 7_200, 14_400].into_iter().map(c).collect();
        let names = vec!["SOL".to_string(), "BTC".to_string()];
        let out = align(&[a.clone(), b], &names).unwrap();
        let times = |s: &[Candle]| s.iter().map(|c| c.time).collect::<Vec<_>>();
        assert_eq!(times(&out[0]), vec![3_600, 7_200]);
        assert_eq!(times(&out[1]), vec![3_600, 7_200]);

        let late: Vec<Candle> = [20_000, 23_600].into_iter().map(c).collect();
        let e = align(&[a, late], &names).unwrap_err();
        assert!(e.contains("do not overlap"), "{e}");
        assert!(
            e.contains("SOL: 1970-01-01 00:00 .. 1970-01-01 03:00"),
            "{e}"
        );
        assert!(e.contains("BTC: 1970-01-01 05:33"), "{e}");
    }
}
