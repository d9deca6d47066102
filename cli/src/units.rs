//! Decimal amounts on the command line, converted to fixed point without floats.

/// `"12.5"` with `decimals = 6` is `12_500_000`. Refuses more decimals than the unit has,
/// negative numbers and overflow.
pub fn parse_decimal(s: &str, decimals: u32) -> Result<u64, String> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(format!("`{s}` is not a number"));
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("`{s}` is not a non-negative decimal number"));
    }
    if frac.len() > decimals as usize {
        return Err(format!("`{s}` has more than {decimals} decimals"));
    }
    let scale = 10u128.pow(decimals);
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| format!("`{s}` is too large"))?
    };
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u128>()
            .map_err(|_| format!("`{s}` is not a number"))?
            * 10u128.pow(decimals - frac.len() as u32)
    };
    let v = whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac_value))
        .ok_or(format!("`{s}` is too large"))?;
    u64::try_from(v).map_err(|_| format!("`{s}` is too large"))
}

/// Fixed point back to a decimal string.
pub fn format_decimal(v: i128, decimals: u32) -> String {
    let scale = 10i128.pow(decimals);
    let sign = if v < 0 { "-" } else { "" };
    let v = v.abs();
    let frac = format!("{:0width$}", v % scale, width = decimals as usize);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{}", v / scale)
    } else {
        format!("{sign}{}.{frac}", v / scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip() {
        assert_eq!(parse_decimal("12.5", 6), Ok(12_500_000));
        assert_eq!(parse_decimal("0.000001", 6), Ok(1));
        assert_eq!(parse_decimal("7", 0), Ok(7));
        assert_eq!(parse_decimal(".5", 1), Ok(5));
        assert!(parse_decimal("0.0000001", 6).is_err());
        assert!(parse_decimal("-1", 6).is_err());
        assert!(parse_decimal("1e5", 6).is_err());
        assert!(parse_decimal("", 6).is_err());
        assert!(parse_decimal("99999999999999999999", 6).is_err());
        assert_eq!(format_decimal(12_500_000, 6), "12.5");
        assert_eq!(format_decimal(-1, 6), "-0.000001");
        assert_eq!(format_decimal(3_000_000, 6), "3");
    }
}
