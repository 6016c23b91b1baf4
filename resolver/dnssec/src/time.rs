//! Signature validity windows in serial-number arithmetic (RFC 4034 §3.1.5, RFC 1982).

use crate::{BogusReason, Failure};

/// `a` is before `b` in RFC 1982 serial arithmetic on 32 bits (undefined when they are
/// exactly 2^31 apart; taken as "not before" then).
pub fn serial_lt(a: u32, b: u32) -> bool {
    a != b && (b.wrapping_sub(a) as i32) > 0
}

/// Checks `now` (seconds since the Unix epoch, from the caller's wall clock) against an
/// RRSIG's inception and expiration, allowing `skew` seconds of clock error on either
/// side. Returns the seconds left until expiration (0 when inside the skew allowance),
/// which caps the TTL of what the signature validates (RFC 4035 §5.3.3).
pub fn check_validity(
    inception: u32,
    expiration: u32,
    now: u64,
    skew: u32,
) -> Result<u32, Failure> {
    if serial_lt(expiration, inception) {
        return Err(Failure::Bogus(BogusReason::RrsigMismatch));
    }
    // The timestamps are the epoch seconds modulo 2^32 (RFC 4034 §3.1.5).
    let now = now as u32;
    if serial_lt(now.wrapping_add(skew), inception) {
        return Err(Failure::SignatureNotYetValid);
    }
    if serial_lt(expiration, now.wrapping_sub(skew)) {
        return Err(Failure::SignatureExpired);
    }
    let left = expiration.wrapping_sub(now) as i32;
    Ok(left.max(0) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_and_skew() {
        let (inc, exp) = (1_000_000u32, 2_000_000u32);
        assert_eq!(check_validity(inc, exp, 1_500_000, 0), Ok(500_000));
        assert_eq!(check_validity(inc, exp, inc as u64, 0), Ok(1_000_000));
        assert_eq!(check_validity(inc, exp, exp as u64, 0), Ok(0));
        assert_eq!(
            check_validity(inc, exp, exp as u64 + 1, 0),
            Err(Failure::SignatureExpired)
        );
        assert_eq!(check_validity(inc, exp, exp as u64 + 1, 300), Ok(0));
        assert_eq!(
            check_validity(inc, exp, exp as u64 + 301, 300),
            Err(Failure::SignatureExpired)
        );
        assert_eq!(
            check_validity(inc, exp, inc as u64 - 1, 0),
            Err(Failure::SignatureNotYetValid)
        );
        assert_eq!(
            check_validity(inc, exp, inc as u64 - 300, 300),
            Ok(1_000_300)
        );
        assert_eq!(
            check_validity(exp, inc, 1_500_000, 0),
            Err(Failure::Bogus(BogusReason::RrsigMismatch))
        );
    }

    /// After 2106 the 32-bit timestamps wrap; serial arithmetic keeps working.
    #[test]
    fn wraps_past_2106() {
        let now: u64 = (1u64 << 32) + 100; // 2106-02-07T06:29:16Z
        let inc = u32::MAX - 1000; // just before the wrap
        let exp = 5000u32; // just after it
        assert_eq!(check_validity(inc, exp, now, 0), Ok(4900));
        assert_eq!(
            check_validity(inc, exp, now + 5000, 0),
            Err(Failure::SignatureExpired)
        );
        assert!(serial_lt(u32::MAX, 0) && !serial_lt(0, u32::MAX));
    }
}
