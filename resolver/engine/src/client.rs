//! Admission of a client query, as a pipeline of stages. Each stage either answers
//! (its `Err` is the outcome: an answer, or nothing at all) or lets the query go on:
//!
//! 1. [`frame`]: shorter than a header, or a response: drop (no reflection loops);
//!    [`source`]: a source no packet from the wire can have (loopback, v4-mapped, …):
//!    drop;
//! 2. the fast path ([`crate::answer::fast`]): a fresh cache hit for an allowed
//!    client with RD=1 (or `allow_snoop`), answered from the query's bytes;
//! 3. [`parse`]: one question only, or hickory is not asked;
//! 4. [`acl`]: REFUSED outside the allow list;
//! 5. [`opcode`], [`question`], [`edns_version`], [`class_and_type`]: NOTIMP,
//!    FORMERR, BADVERS;
//! 6. [`policy`]: local names and zones, blocked names ([`crate::policy`]);
//! 7. [`snoop`]: RD=0 without `allow_snoop`: REFUSED (cache snooping);
//!    [`any`]: RFC 8482's minimal answer to ANY;
//! 8. [`cache`]: the full path's cache answer (and a prefetch when due);
//! 9. [`recursion_desired`]: RD=0 and nothing cached: REFUSED;
//! 10. [`coalesce`]: join the resolution of the same question, within the limits
//!     (the client's share among them);
//!     else the engine starts a resolution for it.

// A stage's `Err` is the query's outcome, not an error: moved once, never propagated
// past `admit`.
#![allow(clippy::result_large_err)]

use alloc::vec::Vec;
use core::net::IpAddr;

use hickory_proto::op::{Edns, Message, MessageType, ResponseCode};
use hickory_proto::rr::{DNSClass, RecordType};

use crate::answer::{self, Answer, Shape, Waiter};
use crate::cache::{Cache, KeyedHasher};
use crate::config::EngineConfig;
use crate::ede::Ede;
use crate::io::Client;
use crate::resolve::table::{Join, Resolutions};
use crate::stats::Stats;
use crate::time::Instant;
use crate::wire::header::{Header, ReplyFlags, question_count};
use crate::wire::question::Question;

/// What admission decided.
#[derive(Debug)]
pub(crate) enum Admitted {
    /// Nothing to send: dropped, a retransmission of a query being resolved, or
    /// joined to a resolution in flight.
    Nothing,
    /// The fast path's reply.
    Fast(Vec<u8>),
    /// A bare header (the query did not parse far enough to echo its question).
    Bare(ResponseCode, [u8; crate::wire::header::LEN]),
    /// Answer the client.
    Reply(Waiter, Answer),
    /// Answer the client from the cache, then refresh the entry (prefetch).
    ReplyAndPrefetch(Waiter, Answer),
    /// Start a resolution for the client's question.
    Resolve(Waiter),
}

/// What admission reads and changes.
pub(crate) struct Admission<'a> {
    /// One of the engine's own lookups ([`crate::Engine::lookup`]): its source is the
    /// internal client, which the source stage drops for every other query, and the
    /// allow list does not apply to it.
    pub(crate) internal: bool,
    /// The configuration (allow list, limits).
    pub(crate) cfg: &'a EngineConfig,
    /// The answer rules.
    pub(crate) shape: &'a Shape,
    /// The cache.
    pub(crate) cache: &'a mut Cache<KeyedHasher>,
    /// The resolutions in flight, to coalesce with.
    pub(crate) resolutions: &'a mut Resolutions,
    /// The counters.
    pub(crate) stats: &'a mut Stats,
    /// Whether the fast path is on.
    pub(crate) fast_path: bool,
    /// The policy stage's state.
    pub(crate) policy: &'a crate::policy::Policy,
}

/// A stage's result: go on with `T`, or stop with the outcome.
type Stage<T> = Result<T, Admitted>;

/// Run the stages over a query from `client`.
pub(crate) fn admit(a: &mut Admission<'_>, now: Instant, client: Client, bytes: &[u8]) -> Admitted {
    match stages(a, now, client, bytes) {
        Ok(w) => Admitted::Resolve(w),
        Err(out) => out,
    }
}

/// The stages in order; `Ok`: the query needs a new resolution.
fn stages(a: &mut Admission<'_>, now: Instant, client: Client, bytes: &[u8]) -> Stage<Waiter> {
    let h = frame(a.stats, bytes)?;
    if !a.internal {
        source(a.stats, client)?;
    }
    fast(a, now, client, h, bytes)?;
    let parsed = parse(bytes);
    if !a.internal {
        acl(a.cfg, client, parsed.as_ref(), h)?;
    }
    opcode(h)?;
    let (msg, w) = question(client, parsed, h)?;
    edns_version(&msg, &w)?;
    class_and_type(&w)?;
    policy(a, &w)?;
    a.stats.queries += 1;
    snoop(a.cfg, &w)?;
    any(a.stats, &w)?;
    cache(a, now, w)
        .and_then(recursion_desired)
        .and_then(|w| coalesce(a, w))
}

/// Whether `ip` is in the allow list (and could have sent a packet from the wire).
fn allowed(cfg: &EngineConfig, ip: IpAddr) -> bool {
    common::allows(&cfg.allow, ip)
}

/// A bare header echoing ID, opcode and RD.
fn bare(h: Header<'_>, rcode: ResponseCode) -> Admitted {
    let flags = ReplyFlags {
        opcode: h.opcode(),
        rd: h.rd(),
        cd: false,
        tc: false,
        rcode,
    };
    Admitted::Bare(rcode, flags.bare(h.id()))
}

/// A header, and a query: else drop it unanswered.
fn frame<'b>(stats: &mut Stats, bytes: &'b [u8]) -> Stage<Header<'b>> {
    match Header::new_checked(bytes) {
        Some(h) if !h.is_response() => Ok(h),
        // Too short for a header, or a response: never answer (no reflection loops).
        _ => {
            stats.client_dropped += 1;
            Err(Admitted::Nothing)
        }
    }
}

/// A source address no packet from the network can carry (loopback, unspecified,
/// IPv4-mapped, multicast, broadcast: [`common::is_wire_source`]) is forged: drop it
/// unanswered, as Unbound does. A REFUSED would be sent to an address that is us or
/// no one, or be a reflection off a spoofed one; and `::ffff:10.0.0.1` or
/// `127.0.0.1` must not pass an allow list meant for the LAN or the host itself (issue
/// 14, item 15). The app feeds only what came from the wire.
fn source(stats: &mut Stats, client: Client) -> Stage<()> {
    if common::is_wire_source(client.addr.ip()) {
        return Ok(());
    }
    stats.client_dropped += 1;
    Err(Admitted::Nothing)
}

/// The fast path: a fresh hit for an allowed client, answered without a `Message`.
/// Declining changes nothing but the referenced bits of the entries looked at, which
/// the full path then looks at again. RD=0 is left to the full path, which
/// refuses it unless `allow_snoop`.
fn fast(
    a: &mut Admission<'_>,
    now: Instant,
    client: Client,
    h: Header<'_>,
    bytes: &[u8],
) -> Stage<()> {
    if !a.fast_path || (!h.rd() && !a.cfg.allow_snoop) {
        return Ok(());
    }
    let Some(q) = Question::parse(bytes) else {
        return Ok(());
    };
    if !a.internal && !allowed(a.cfg, client.addr.ip()) {
        return Ok(());
    }
    let Some(payload) = answer::fast::reply(a.cache, a.shape, a.policy, now, client.transport, &q)
    else {
        return Ok(());
    };
    a.stats.queries += 1;
    a.stats.cache_hits += 1;
    a.stats.fast_path_hits += 1;
    Err(Admitted::Fast(payload))
}

/// The message, if it claims exactly one question and parses.
///
/// Only one question is ever answered, and hickory reserves room for every question
/// the header claims before it reads the first: 65535 claimed questions are a 5.8 MB
/// allocation from a 12-byte datagram, which halted an hvt image booted with --mem=8
/// and leaves glibc's heap 4x its live size on unix (`cargo xtask torture`, items 4 and
/// 9). Never parse any other count.
fn parse(bytes: &[u8]) -> Option<Message> {
    (question_count(bytes) == Some(1))
        .then(|| Message::from_vec(bytes).ok())
        .flatten()
}

/// REFUSED outside the allow list.
fn acl(cfg: &EngineConfig, client: Client, parsed: Option<&Message>, h: Header<'_>) -> Stage<()> {
    if allowed(cfg, client.addr.ip()) {
        return Ok(());
    }
    Err(match parsed.and_then(|m| waiter_of(client, m)) {
        // Over UDP the refusal must never be larger than the query, or an outside
        // address can be used as an amplifier: the 6-byte EDE option made a minimal
        // EDNS query's REFUSED 1.18× its size (`cargo xtask torture`, item 6). TCP
        // cannot be spoofed: keep it.
        Some(w) => {
            let ede = w.client.transport.is_tcp().then_some(Ede::PROHIBITED);
            Admitted::Reply(w, Answer::error(ResponseCode::Refused, ede))
        }
        None => bare(h, ResponseCode::Refused),
    })
}

/// NOTIMP for every opcode but QUERY.
fn opcode(h: Header<'_>) -> Stage<()> {
    if h.opcode() != 0 {
        return Err(bare(h, ResponseCode::NotImp));
    }
    Ok(())
}

/// The client as a [`Waiter`] for `msg`'s one question; `None` if it is not a query
/// with exactly one.
fn waiter_of(client: Client, msg: &Message) -> Option<Waiter> {
    if msg.queries.len() != 1 || msg.message_type != MessageType::Query {
        return None;
    }
    let query = msg.queries.first()?.clone();
    Some(Waiter {
        client,
        id: msg.id,
        query,
        rd: msg.recursion_desired,
        cd: msg.checking_disabled,
        ad: msg.authentic_data,
        edns: msg.edns.as_ref().map(Edns::max_payload),
        dnssec_ok: msg.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok),
    })
}

/// FORMERR unless the query parsed with one question.
fn question(client: Client, parsed: Option<Message>, h: Header<'_>) -> Stage<(Message, Waiter)> {
    let Some(msg) = parsed else {
        return Err(bare(h, ResponseCode::FormErr));
    };
    let Some(w) = waiter_of(client, &msg) else {
        return Err(bare(h, ResponseCode::FormErr));
    };
    debug_assert_eq!(w.id, h.id());
    Ok((msg, w))
}

/// BADVERS for EDNS versions above 0.
fn edns_version(msg: &Message, w: &Waiter) -> Stage<()> {
    if msg.edns.as_ref().is_some_and(|e| e.version() > 0) {
        return Err(Admitted::Reply(
            w.clone(),
            Answer::error(ResponseCode::BADVERS, None),
        ));
    }
    Ok(())
}

/// NOTIMP for classes other than IN and zone transfers; FORMERR for OPT and TSIG as
/// question types.
fn class_and_type(w: &Waiter) -> Stage<()> {
    let q = &w.query;
    let refuse = |rcode, ede| Err(Admitted::Reply(w.clone(), Answer::error(rcode, ede)));
    if q.query_class() != DNSClass::IN {
        return refuse(ResponseCode::NotImp, Some(Ede::NOT_SUPPORTED));
    }
    match q.query_type() {
        RecordType::AXFR | RecordType::IXFR => {
            refuse(ResponseCode::NotImp, Some(Ede::NOT_SUPPORTED))
        }
        RecordType::OPT | RecordType::TSIG => refuse(ResponseCode::FormErr, None),
        _ => Ok(()),
    }
}

/// Policy's own answer (a local name or zone, a blocked name), if it has one.
fn policy(a: &mut Admission<'_>, w: &Waiter) -> Stage<()> {
    match a.policy.on_query(w) {
        None => Ok(()),
        Some(ans) => {
            a.stats.queries += 1;
            Err(Admitted::Reply(w.clone(), ans))
        }
    }
}

/// RD=0 asks only what is cached: that is how one client learns which names the others
/// looked up, and when (cache snooping). REFUSED with EDE 18 unless `allow_snoop`, as
/// Unbound's default `access-control: allow` does (issue 14, item 18).
fn snoop(cfg: &EngineConfig, w: &Waiter) -> Stage<()> {
    if w.rd || cfg.allow_snoop {
        return Ok(());
    }
    Err(Admitted::Reply(
        w.clone(),
        Answer::error(ResponseCode::Refused, Some(Ede::SNOOPING)),
    ))
}

/// RFC 8482: a minimal synthesized answer to ANY instead of everything we know.
fn any(stats: &mut Stats, w: &Waiter) -> Stage<()> {
    if w.query.query_type() != RecordType::ANY {
        return Ok(());
    }
    stats.cache_hits += 1;
    Err(Admitted::Reply(
        w.clone(),
        Answer::any(w.query.name().clone()),
    ))
}

/// The full path's cache answer, following cached CNAMEs.
fn cache(a: &mut Admission<'_>, now: Instant, w: Waiter) -> Stage<Waiter> {
    let (qname, qtype) = (w.query.name(), w.query.query_type());
    let Some((ans, prefetch)) = answer::cached(a.cache, a.shape, now, qname, qtype) else {
        return Ok(w);
    };
    let ans = a.policy.screen(qname, qtype, ans);
    a.stats.cache_hits += 1;
    Err(if prefetch {
        Admitted::ReplyAndPrefetch(w, ans)
    } else {
        Admitted::Reply(w, ans)
    })
}

/// RD=0 and nothing cached: we are not authoritative.
fn recursion_desired(w: Waiter) -> Stage<Waiter> {
    if w.rd {
        return Ok(w);
    }
    let ans = Answer::error(ResponseCode::Refused, Some(Ede::NOT_AUTHORITATIVE));
    Err(Admitted::Reply(w, ans))
}

/// A cache miss: join the resolution of the same question if one is in flight, within
/// the client limits.
fn coalesce(a: &mut Admission<'_>, w: Waiter) -> Stage<Waiter> {
    a.stats.cache_misses += 1;
    let l = &a.cfg.limits;
    if a.resolutions.client_waiters() >= l.max_client_queries {
        return Err(Admitted::Reply(w, Answer::servfail(Ede::CLIENTS_FULL)));
    }
    // One client prefix holds at most its share of the slots (issue 14, item 19); a
    // retransmission of a query already waiting is not a new one.
    if a.resolutions.waiters_like(w.client.addr.ip()) >= l.client_share()
        && !a.resolutions.is_duplicate(&w)
    {
        return Err(Admitted::Reply(w, Answer::servfail(Ede::CLIENT_SHARE_FULL)));
    }
    match a.resolutions.join(w, l.max_waiters_per_resolution) {
        Join::Joined => {
            a.stats.coalesced += 1;
            Err(Admitted::Nothing)
        }
        Join::Duplicate => Err(Admitted::Nothing), // the answer is on its way
        Join::Full(w) => Err(Admitted::Reply(w, Answer::servfail(Ede::WAITERS_FULL))),
        Join::Absent(w) => Ok(w),
    }
}
