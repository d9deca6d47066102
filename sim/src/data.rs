//! Candle data: `timestamp,open,high,low,close,volume` with UTC `YYYY-MM-DD HH:MM:SS` times.

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

/// Load candles whose open time lies in `[start, end]` (inclusive).
pub fn load(path: &Path, start: &str, end: &str) -> Result<Vec<Candle>, String> {
    let start_t =
        parse_time(start).ok_or_else(|| format!("start `{start}` is not YYYY-MM-DD HH:MM:SS"))?;
    let end_t = parse_time(end).ok_or_else(|| format!("end `{end}` is not YYYY-MM-DD HH:MM:SS"))?;
    if end_t <= start_t {
        return Err(format!("end `{end}` must be after start `{start}`"));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read price data {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let bad = || {
            format!(
                "{}:{}: expected timestamp,open,high,low,close,volume",
                path.display(),
                n + 1
            )
        };
        if fields.len() < 5 {
            return Err(bad());
        }
        let time = parse_time(fields[0]).ok_or_else(bad)?;
        if time < start_t || time > end_t {
            continue;
        }
        let num = |i: usize| fields[i].trim().parse::<f64>().map_err(|_| bad());
        let c = Candle {
            time,
            open: num(1)?,
            high: num(2)?,
            low: num(3)?,
            close: num(4)?,
        };
        if !(c.low > 0.0 && c.low <= c.high && c.close > 0.0) {
            return Err(format!("{}:{}: inconsistent candle", path.display(), n + 1));
        }
        out.push(c);
    }
    if out.len() < 2 {
        return Err(format!(
            "fewer than 2 candles between {start} and {end} in {}",
            path.display()
        ));
    }
    Ok(out)
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) to unix seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(' ')?;
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let t: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if d.len() != 3 || t.len() != 3 || !(1..=12).contains(&d[1]) || !(1..=31).contains(&d[2]) {
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

    #[test]
    fn times_round_trip() {
        assert_eq!(parse_time("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_time("2022-11-08 19:15:00"), Some(1_667_934_900));
        assert_eq!(format_time(1_667_934_900), "2022-11-08 19:15");
        assert_eq!(parse_time("2022-13-01 00:00:00"), None);
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn loads_a_window_of_the_shipped_data() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/SOLUSDT_1h.csv");
        let c = load(&path, "2022-11-08 00:00:00", "2022-11-09 23:00:00").unwrap();
        assert_eq!(c.len(), 48);
        assert_eq!(c[0].time, parse_time("2022-11-08 00:00:00").unwrap());
        assert!(
            c.iter().any(|c| c.low < 15.0),
            "the FTX crash is in the window"
        );
        assert!(load(&path, "2030-01-01 00:00:00", "2030-02-01 00:00:00").is_err());
        assert!(load(
            Path::new("missing.csv"),
            "2022-11-08 00:00:00",
            "2022-11-09 00:00:00"
        )
        .unwrap_err()
        .contains("cannot read"));
    }
}
