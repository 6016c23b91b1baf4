//! Tick → nanosecond conversion: pure, host-tested.

const NS_PER_S: u64 = 1_000_000_000;

/// Converts counter ticks at a fixed frequency to nanoseconds: `ticks × 1e9 / freq` split
/// into an integer and a 64-bit binary fraction, `ticks × whole + (ticks × frac) >> 64`,
/// with the product in 128 bits. No tick count overflows it, and the rounding error is
/// below one part in 2⁶⁴ of the result (under 1 ns after centuries), for any frequency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scale {
    whole: u64,
    frac: u64,
}

impl Scale {
    /// `None` for a zero frequency.
    pub(crate) fn new(freq_hz: u64) -> Option<Scale> {
        if freq_hz == 0 {
            return None;
        }
        let whole = NS_PER_S / freq_hz;
        let rem = NS_PER_S % freq_hz;
        // rem < freq_hz, so the quotient is below 2⁶⁴.
        let frac = ((u128::from(rem) << 64) / u128::from(freq_hz)) as u64;
        Some(Scale { whole, frac })
    }

    /// The two parts, for keeping a `Scale` in atomics.
    pub(crate) fn parts(self) -> (u64, u64) {
        (self.whole, self.frac)
    }

    /// The `Scale` whose [`Scale::parts`] are `(whole, frac)`.
    pub(crate) fn from_parts(whole: u64, frac: u64) -> Scale {
        Scale { whole, frac }
    }

    /// `ticks` in nanoseconds, saturating at `u64::MAX` (584 years).
    pub(crate) fn ns(self, ticks: u64) -> u64 {
        let fraction = ((u128::from(ticks) * u128::from(self.frac)) >> 64) as u64;
        ticks.saturating_mul(self.whole).saturating_add(fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::Scale;

    #[test]
    fn converts_common_frequencies() {
        let tsc = Scale::new(2_445_406_000).unwrap();
        assert_eq!(tsc.ns(0), 0);
        assert_eq!(tsc.ns(2_445_406_000), 999_999_999); // rounds down
        assert_eq!(tsc.ns(2_445_406_000 * 3600), 3_599_999_999_999);
        let arm = Scale::new(62_500_000).unwrap();
        assert_eq!(arm.ns(62_500_000), 1_000_000_000);
        assert_eq!(arm.ns(1), 16);
        assert_eq!(Scale::new(1_000_000_000).unwrap().ns(12345), 12345);
        // Faster than 1 GHz: whole part 0.
        assert_eq!(
            Scale::new(4_000_000_000).unwrap().ns(4_000_000_000),
            1_000_000_000
        );
        assert_eq!(
            Scale::new(3_000_000_000).unwrap().ns(3_000_000_000),
            999_999_999
        );
    }

    #[test]
    fn survives_a_trip_through_atomics() {
        let s = Scale::new(24_000_000).unwrap();
        let (w, f) = s.parts();
        assert_eq!(Scale::from_parts(w, f), s);
    }

    #[test]
    fn never_overflows_and_stays_exact() {
        assert_eq!(Scale::new(0), None);
        // 1 Hz: the largest whole part; a huge tick count saturates instead of wrapping.
        assert_eq!(Scale::new(1).unwrap().ns(u64::MAX), u64::MAX);
        assert_eq!(Scale::new(u64::MAX).unwrap().ns(u64::MAX), 999_999_999);
        // A year of a 3 GHz counter: within 1 ns of exact.
        let ticks = 3_000_000_000u64 * 86_400 * 365;
        let ns = Scale::new(3_000_000_000).unwrap().ns(ticks);
        let want = 1_000_000_000u64 * 86_400 * 365;
        assert!(want - ns <= 1, "{ns}");
    }
}
