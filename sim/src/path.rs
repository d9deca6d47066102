//! From candles to oracle updates: the path a price takes inside a candle, and the EMA and
//! confidence posted with each update.

use crate::data::Candle;
use crate::scenario::PathMode;

/// One oracle update: `offset` seconds after the candle's open time, at `price`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Update {
    pub offset: i64,
    pub price: f64,
}

/// The updates a candle is posted as, the interval split into equal parts.
///
/// `Ohlc`: open, then the extreme the candle went to first, then the other one, then the
/// close. A candle that closed up (or flat) is taken to have dipped to its low before
/// rising to its high; one that closed down to have reached its high first. `Close`: the
/// close alone, at the candle's time.
pub fn candle_updates(c: &Candle, interval: i64, mode: PathMode) -> Vec<Update> {
    let prices = match mode {
        PathMode::Close => vec![c.close],
        PathMode::Ohlc if c.close >= c.open => vec![c.open, c.low, c.high, c.close],
        PathMode::Ohlc => vec![c.open, c.high, c.low, c.close],
    };
    let n = prices.len() as i64;
    prices
        .into_iter()
        .enumerate()
        .map(|(i, price)| Update {
            offset: interval * i as i64 / n,
            price,
        })
        .collect()
}

/// Pyth's EMA has a window of about an hour: after `dt` seconds the EMA moves
/// `1 − e^(−dt / 1 h)` of the way to the new price, whatever the update frequency.
pub fn ema_step(ema: f64, price: f64, dt: i64) -> f64 {
    let alpha = 1.0 - (-(dt.max(0) as f64) / 3_600.0).exp();
    ema + (price - ema) * alpha
}

/// Confidence: a tenth of the candle's range, between 0.05 % and 1.5 % of the price.
pub fn confidence(c: &Candle, price: f64) -> f64 {
    ((c.high - c.low) / 10.0).clamp(price * 0.0005, price * 0.015)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candle(open: f64, high: f64, low: f64, close: f64) -> Candle {
        Candle {
            time: 1_000_000,
            open,
            high,
            low,
            close,
        }
    }

    fn prices(u: &[Update]) -> Vec<f64> {
        u.iter().map(|u| u.price).collect()
    }

    #[test]
    fn an_up_candle_goes_low_then_high() {
        let u = candle_updates(&candle(10.0, 13.0, 9.0, 12.0), 3_600, PathMode::Ohlc);
        assert_eq!(prices(&u), [10.0, 9.0, 13.0, 12.0]);
        let offsets: Vec<i64> = u.iter().map(|u| u.offset).collect();
        assert_eq!(offsets, [0, 900, 1_800, 2_700]);
    }

    #[test]
    fn a_down_candle_goes_high_then_low() {
        let u = candle_updates(&candle(24.0, 24.5, 20.0, 21.0), 900, PathMode::Ohlc);
        assert_eq!(prices(&u), [24.0, 24.5, 20.0, 21.0]);
        let offsets: Vec<i64> = u.iter().map(|u| u.offset).collect();
        assert_eq!(offsets, [0, 225, 450, 675]);
    }

    #[test]
    fn a_flat_candle_counts_as_up_and_close_mode_posts_the_close() {
        let u = candle_updates(&candle(5.0, 6.0, 4.0, 5.0), 3_600, PathMode::Ohlc);
        assert_eq!(prices(&u), [5.0, 4.0, 6.0, 5.0]);
        let u = candle_updates(&candle(5.0, 6.0, 4.0, 5.5), 3_600, PathMode::Close);
        assert_eq!(
            u,
            [Update {
                offset: 0,
                price: 5.5
            }]
        );
    }

    #[test]
    fn the_ema_weight_depends_on_time_not_on_the_number_of_updates() {
        // Four quarter-hour steps move the EMA as far as one hourly step.
        let hourly = ema_step(100.0, 50.0, 3_600);
        let mut quarter = 100.0;
        for _ in 0..4 {
            quarter = ema_step(quarter, 50.0, 900);
        }
        assert!((hourly - quarter).abs() < 1e-9, "{hourly} vs {quarter}");
        assert!((hourly - (100.0 - 50.0 * 0.632_120_558_8)).abs() < 1e-6);
        assert_eq!(ema_step(100.0, 50.0, 0), 100.0);
    }
}
