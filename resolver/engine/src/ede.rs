//! Extended DNS Errors (RFC 8914): why an answer is an error or stale, as an info code
//! and, where no code says it, an EXTRA-TEXT naming the cause.
//!
//! Every SERVFAIL the engine gives has a constant here, so the reasons can be told
//! apart on the wire (`dig` prints them) and in tests. The codes used:
//!
//! | constant | code | when |
//! |---|---|---|
//! | [`Ede::TIMED_OUT`] | 22 No Reachable Authority | the query's time ran out, or every server timed out |
//! | [`Ede::UNREACHABLE`] | 23 Network Error | every server failed to connect (no timeout among them) |
//! | [`Ede::LAME`] | 20 Not Authoritative | every server answered, none usefully (lame, SERVFAIL, REFUSED) |
//! | [`Ede::STALE`] | 3 Stale Answer | RFC 8767 serve-stale |
//! | [`Ede::STALE_NXDOMAIN`] | 19 Stale NXDOMAIN Answer | serve-stale of an NXDOMAIN |
//! | [`Ede::PROHIBITED`] | 18 Prohibited | REFUSED by the allow list (TCP only) |
//! | [`Ede::SNOOPING`] | 18 Prohibited | RD=0 without `allow_snoop` (cache snooping) |
//! | [`Ede::NOT_SUPPORTED`] | 21 Not Supported | class other than IN, AXFR/IXFR |
//! | [`Ede::NOT_AUTHORITATIVE`] | 20 Not Authoritative | RD=0 and nothing cached |
//! | [`Ede::BLOCKED`], [`Ede::REBIND`] | 15 Blocked | policy: a blocked name (the text names the list), or rebinding protection |
//! | the others | 0 Other | with an EXTRA-TEXT: budgets, limits, loops |

use alloc::vec::Vec;

/// An info code (RFC 8914 §4), the ones the engine gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub(crate) enum Code {
    /// 0: nothing more specific fits; the EXTRA-TEXT says what.
    Other = 0,
    /// 1: the zone's DNSKEYs use only algorithms we cannot validate (insecure).
    UnsupportedDnskeyAlgorithm = 1,
    /// 2: the DS records use only digests we cannot compute (insecure).
    UnsupportedDsDigest = 2,
    /// 3: an expired answer served because resolution failed (RFC 8767).
    StaleAnswer = 3,
    /// 6: DNSSEC validation failed (a bad signature, a DS that matches no key).
    DnssecBogus = 6,
    /// 7: every signature had expired.
    SignatureExpired = 7,
    /// 8: no signature was valid yet.
    SignatureNotYetValid = 8,
    /// 9: no DNSKEY matches the DS or the RRSIGs.
    DnskeyMissing = 9,
    /// 10: data under a trust anchor came without signatures.
    RrsigsMissing = 10,
    /// 12: a negative answer without a valid NSEC/NSEC3 proof.
    NsecMissing = 12,
    /// 15: policy blocked the name (a blocklist, or rebinding protection).
    Blocked = 15,
    /// 18: the client may not ask us.
    Prohibited = 18,
    /// 19: an expired NXDOMAIN served because resolution failed.
    StaleNxDomain = 19,
    /// 20: we are not authoritative (RD=0), or the servers were not (lame).
    NotAuthoritative = 20,
    /// 21: the query asks for something we do not do.
    NotSupported = 21,
    /// 22: no authoritative server could be reached (timeouts).
    NoReachableAuthority = 22,
    /// 23: talking to the servers failed at the network level.
    NetworkError = 23,
    /// 27: NSEC3 iterations above the limit (RFC 9276): treated as insecure.
    UnsupportedNsec3Iterations = 27,
}

/// An EDE option: a code and, optionally, a fixed EXTRA-TEXT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ede {
    /// The info code.
    pub(crate) code: Code,
    /// The EXTRA-TEXT (UTF-8, no terminator), if any.
    pub(crate) text: Option<&'static str>,
}

impl Ede {
    /// The query's time ran out or every server timed out.
    pub(crate) const TIMED_OUT: Ede = Ede::code(Code::NoReachableAuthority);
    /// Every attempt failed to connect.
    pub(crate) const UNREACHABLE: Ede = Ede::code(Code::NetworkError);
    /// Every server answered, none usefully.
    pub(crate) const LAME: Ede = Ede::code(Code::NotAuthoritative);
    /// A stale answer (RFC 8767).
    pub(crate) const STALE: Ede = Ede::code(Code::StaleAnswer);
    /// A stale NXDOMAIN.
    pub(crate) const STALE_NXDOMAIN: Ede = Ede::code(Code::StaleNxDomain);
    /// REFUSED by the allow list.
    pub(crate) const PROHIBITED: Ede = Ede::code(Code::Prohibited);
    /// A class or type we do not serve.
    pub(crate) const NOT_SUPPORTED: Ede = Ede::code(Code::NotSupported);
    /// RD=0 and nothing cached.
    pub(crate) const NOT_AUTHORITATIVE: Ede = Ede::code(Code::NotAuthoritative);
    /// `Limits::max_upstream_per_query` reached.
    pub(crate) const BUDGET: Ede = Ede::other("upstream query budget exhausted");
    /// `Limits::max_ns_lookups_per_client_query` reached: too many glueless NS names.
    pub(crate) const NS_LOOKUP_BUDGET: Ede = Ede::other("glueless NS lookup budget exhausted");
    /// `Limits::dnssec_key_fetches_per_resolution` reached.
    pub(crate) const KEY_FETCH_BUDGET: Ede = Ede::other("DNSSEC key lookup budget exhausted");
    /// A sub-resolution no one waits for any more (never sent: it has no waiters).
    pub(crate) const CANCELLED: Ede = Ede::other("no longer needed");
    /// `Limits::max_cname_chain` reached (or a CNAME loop).
    pub(crate) const CHAIN_TOO_LONG: Ede = Ede::other("CNAME chain too long");
    /// `Limits::max_referrals` reached: referrals that do not converge.
    pub(crate) const DELEGATION_LOOP: Ede = Ede::other("delegation loop");
    /// `Limits::max_waiting_resolutions` reached.
    pub(crate) const WAIT_QUEUE_FULL: Ede = Ede::other("upstream wait queue full");
    /// No local port could be had for an upstream query, or it did not encode.
    pub(crate) const NO_PORT: Ede = Ede::other("no upstream port free");
    /// `Limits::max_client_queries` reached.
    pub(crate) const CLIENTS_FULL: Ede = Ede::other("too many client queries in flight");
    /// The client's prefix holds its share of `Limits::max_client_queries`
    /// ([`Limits::client_share`](crate::Limits::client_share)).
    pub(crate) const CLIENT_SHARE_FULL: Ede =
        Ede::other("too many queries in flight from this client");
    /// RD=0 without `allow_snoop`: asking the cache only is cache snooping.
    pub(crate) const SNOOPING: Ede = Ede {
        code: Code::Prohibited,
        text: Some("RD=0 (cache snooping) not allowed"),
    };
    /// `Limits::max_waiters_per_resolution` reached.
    pub(crate) const WAITERS_FULL: Ede = Ede::other("too many clients waiting for this name");
    /// `Limits::max_resolutions` reached.
    pub(crate) const RESOLUTIONS_FULL: Ede = Ede::other("too many resolutions in flight");
    /// Blocked by policy; the answer's EXTRA-TEXT names the list.
    pub(crate) const BLOCKED: Ede = Ede::code(Code::Blocked);
    /// Rebinding protection dropped every address of the answer.
    pub(crate) const REBIND: Ede = Ede {
        code: Code::Blocked,
        text: Some("private address for a public name (rebinding protection)"),
    };
    /// A state the engine should never be in (a delegation missing mid-resolution).
    pub(crate) const INTERNAL: Ede = Ede::other("internal error");

    /// Whether this is a DNSSEC validation failure's EDE (6–10, 12).
    pub(crate) fn is_dnssec(&self) -> bool {
        matches!(
            self.code,
            Code::DnssecBogus
                | Code::SignatureExpired
                | Code::SignatureNotYetValid
                | Code::DnskeyMissing
                | Code::RrsigsMissing
                | Code::NsecMissing
        )
    }

    /// The EDE a DNSSEC validation failure maps to (the dnssec crate's table), with
    /// its short EXTRA-TEXT.
    pub(crate) fn dnssec(f: &dnssec::Failure) -> Ede {
        let code = match f.ede_code() {
            1 => Code::UnsupportedDnskeyAlgorithm,
            2 => Code::UnsupportedDsDigest,
            6 => Code::DnssecBogus,
            7 => Code::SignatureExpired,
            8 => Code::SignatureNotYetValid,
            9 => Code::DnskeyMissing,
            10 => Code::RrsigsMissing,
            12 => Code::NsecMissing,
            27 => Code::UnsupportedNsec3Iterations,
            _ => Code::Other,
        };
        Ede {
            code,
            text: Some(f.extra_text()),
        }
    }

    /// `code` without EXTRA-TEXT.
    pub(crate) const fn code(code: Code) -> Ede {
        Ede { code, text: None }
    }

    /// Code 0 (Other) with `text` naming the cause.
    pub(crate) const fn other(text: &'static str) -> Ede {
        Ede {
            code: Code::Other,
            text: Some(text),
        }
    }

    /// The info code as a number.
    pub(crate) const fn info_code(self) -> u16 {
        self.code as u16
    }

    /// The option's data: INFO-CODE, then EXTRA-TEXT.
    pub(crate) fn option_data(self) -> Vec<u8> {
        self.option_data_with(self.text.unwrap_or_default())
    }

    /// The option's data with `text` as EXTRA-TEXT.
    pub(crate) fn option_data_with(self, text: &str) -> Vec<u8> {
        let text = text.as_bytes();
        let mut d = Vec::with_capacity(2 + text.len());
        d.extend_from_slice(&self.info_code().to_be_bytes());
        d.extend_from_slice(text);
        d
    }
}

/// The option code of EDE in OPT (RFC 8914 §2).
pub(crate) const OPTION_CODE: u16 = 15;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_data_is_code_then_text() {
        assert_eq!(Ede::STALE.option_data(), [0, 3]);
        let d = Ede::CHAIN_TOO_LONG.option_data();
        assert_eq!(&d[..2], [0, 0]);
        assert_eq!(&d[2..], b"CNAME chain too long");
    }
}
