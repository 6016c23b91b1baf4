//! Answers: what a client is told, and the one set of rules every reply obeys, shared
//! by the fast path ([`fast`], bytes from pre-encoded cache entries) and the full path
//! ([`encode`], a hickory `Message`):
//!
//! * [`Shape::ttl`]: the TTL ceiling (`max_ttl`), for cached and fresh data alike;
//! * [`Shape::size_limit`]: the UDP size limit (512, or the client's EDNS size up to
//!   `max_udp_payload`); TCP up to 65535;
//! * [`Shape::prefetch_due`]: whether a hit is in the last 10 % of a TTL ≥ 10 s;
//! * owner case: an owner equal to the question name is written in the client's
//!   letter case ([`owner_of`] on the fast path, [`encode`] on the full path);
//! * header flags: [`crate::wire::header::ReplyFlags`].
//!
//! [`cached`] and [`fast::reply`] walk the cache with [`crate::chain::walk`].

use alloc::string::String;
use alloc::vec::Vec;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::HINFO;
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::cache::{Attached, Cache, Data, Hit, KeyedHasher, MAX_NAME, Rank, is_dnssec_type};
use crate::chain::{self, Chain, Walk};
use crate::config::EngineConfig;
use crate::ede::{self, Ede};
use crate::io::Client;
use crate::scrub::cname_target;
use crate::time::Instant;
use crate::wire::header::ReplyFlags;
use crate::wire::reply::Owner;
use common::Transport;

pub(crate) mod fast;

/// What a client is told: an RCODE, the answer and authority sections, an EDE.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    /// The response code.
    pub(crate) rcode: ResponseCode,
    /// The answer section: the CNAME chain, then the final RRset.
    pub(crate) answers: Vec<Record>,
    /// The authority section: the SOA of a negative answer.
    pub(crate) authority: Vec<Record>,
    /// The EDE option, sent if the client sent OPT.
    pub(crate) ede: Option<Ede>,
    /// An EXTRA-TEXT that replaces `ede`'s fixed one (a blocked name's list).
    pub(crate) ede_text: Option<String>,
    /// Whether AA is set: the answer is local data (policy), not from upstream.
    pub(crate) aa: bool,
    /// Validated secure: AD for clients that set DO or AD (RFC 6840 §5.8).
    pub(crate) secure: bool,
    /// A bogus answer's unchecked data, for clients that set CD (this answer itself
    /// is the SERVFAIL everyone else gets).
    pub(crate) cd_answer: Option<alloc::boxed::Box<Answer>>,
}

impl Answer {
    /// An error with empty sections.
    pub(crate) fn error(rcode: ResponseCode, ede: Option<Ede>) -> Self {
        Self {
            rcode,
            answers: Vec::new(),
            authority: Vec::new(),
            ede,
            ede_text: None,
            aa: false,
            secure: false,
            cd_answer: None,
        }
    }

    /// SERVFAIL, with the reason.
    pub(crate) fn servfail(ede: Ede) -> Self {
        Self::error(ResponseCode::ServFail, Some(ede))
    }

    /// NOERROR with these answers.
    pub(crate) fn records(answers: Vec<Record>) -> Self {
        Self {
            rcode: ResponseCode::NoError,
            answers,
            authority: Vec::new(),
            ede: None,
            ede_text: None,
            aa: false,
            secure: false,
            cd_answer: None,
        }
    }

    /// A negative answer (NXDOMAIN or NODATA): the chain that led there, the SOA.
    pub(crate) fn negative(rcode: ResponseCode, chain: Vec<Record>, soa: Option<Record>) -> Self {
        Self {
            rcode,
            answers: chain,
            authority: soa.into_iter().collect(),
            ede: None,
            ede_text: None,
            aa: false,
            secure: false,
            cd_answer: None,
        }
    }

    /// RFC 8482: the minimal synthesized answer to ANY, instead of everything we know.
    pub(crate) fn any(qname: Name) -> Self {
        let hinfo = Record::from_rdata(
            qname,
            3600,
            RData::HINFO(HINFO::new(String::from("RFC8482"), String::new())),
        );
        Self::records(alloc::vec![hinfo])
    }

    /// The answer a cache hit gives, after the CNAME links in `chain`. A stale hit
    /// carries EDE 3 (19 for an NXDOMAIN).
    /// The entry's attachments go where the fast path writes them: a lead (DNAME)
    /// before the records and their RRSIGs after them; for a negative entry the SOA's
    /// RRSIGs and the denial after the SOA.
    pub(crate) fn from_hit(mut chain: Vec<Record>, hit: Hit) -> Self {
        let secure = hit.attached.security == crate::cache::Security::Secure;
        let why = hit.attached.insecure_ede;
        let Attached {
            sigs, lead, proof, ..
        } = hit.attached;
        let neg = |rcode, chain, soa: Option<Record>| {
            let mut a = Self::negative(rcode, chain, soa);
            a.authority.extend(sigs.iter().cloned());
            a.authority.extend(proof.iter().cloned());
            a
        };
        let mut a = match hit.data {
            Data::Records(r) => {
                chain.extend(lead);
                chain.extend(r);
                chain.extend(sigs);
                let mut a = Self::records(chain);
                // A wildcard expansion's NSEC/NSEC3 proof.
                a.authority = proof;
                a
            }
            Data::NoData(soa) => neg(ResponseCode::NoError, chain, soa),
            Data::NxDomain(soa) => neg(ResponseCode::NXDomain, chain, soa),
        };
        a.secure = secure && !hit.stale;
        a.ede = why;
        if hit.stale {
            a.ede = Some(if a.rcode == ResponseCode::NXDomain {
                Ede::STALE_NXDOMAIN
            } else {
                Ede::STALE
            });
        }
        a
    }
}

/// The answer rules that come from the configuration, fixed when the engine starts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    /// The TTL ceiling, in seconds.
    max_ttl: u32,
    /// The UDP payload we advertise and the most we send (at least 512).
    max_udp: u16,
    /// Whether hits near expiry start a prefetch.
    prefetch: bool,
    /// `Limits::max_cname_chain`.
    pub(crate) max_links: u8,
}

impl Shape {
    /// The rules of `cfg`.
    pub(crate) fn new(cfg: &EngineConfig) -> Self {
        Self {
            max_ttl: u32::try_from(cfg.max_ttl.as_secs()).unwrap_or(u32::MAX),
            max_udp: cfg.limits.max_udp_payload.max(512),
            prefetch: cfg.prefetch,
            max_links: cfg.limits.max_cname_chain,
        }
    }

    /// A TTL as sent: at most `max_ttl` (fresh upstream data obeys the same ceiling
    /// as cached data).
    pub(crate) fn ttl(&self, ttl: u32) -> u32 {
        ttl.min(self.max_ttl)
    }

    /// The UDP payload size in our OPT record.
    pub(crate) fn advertised_udp(&self) -> u16 {
        self.max_udp
    }

    /// The largest reply a client may get: over UDP 512 bytes, or its EDNS size
    /// clamped to 512..=`max_udp`; over TCP a whole message.
    pub(crate) fn size_limit(&self, transport: Transport, edns: Option<u16>) -> usize {
        match transport {
            Transport::Udp => usize::from(edns.map_or(512, |p| p.clamp(512, self.max_udp))),
            Transport::Tcp { .. } => usize::from(u16::MAX),
        }
    }

    /// Whether a hit with `remaining` of `original` seconds is due for a prefetch: in
    /// the last 10 % of a TTL of at least 10 s.
    pub(crate) fn prefetch_due(&self, remaining: u32, original: u32) -> bool {
        self.prefetch && original >= 10 && u64::from(remaining) * 10 < u64::from(original)
    }
}

/// A client waiting for an answer: who it is and what it asked, everything the reply
/// echoes.
#[derive(Clone, Debug)]
pub(crate) struct Waiter {
    /// Who asked, and how (the answer leaves the same way).
    pub(crate) client: Client,
    /// The query ID.
    pub(crate) id: u16,
    /// The question exactly as the client sent it (letter case preserved).
    pub(crate) query: Query,
    /// The client's RD.
    pub(crate) rd: bool,
    /// The client's CD.
    pub(crate) cd: bool,
    /// The client's AD (RFC 6840 §5.7: it understands AD).
    pub(crate) ad: bool,
    /// The client's EDNS UDP payload size, if it sent OPT.
    pub(crate) edns: Option<u16>,
    /// Whether the client set DO: RRSIG, NSEC and NSEC3 records are for it (RFC 4035
    /// §3.2.1); the others get them only when they ask for that type.
    pub(crate) dnssec_ok: bool,
}

/// Whether `r` goes to a client: anything but RRSIG, NSEC and NSEC3 records unless it
/// set DO, or (in the answer section) asked for that type.
fn for_client(to: &Waiter, r: &Record, answer: bool) -> bool {
    to.dnssec_ok
        || !is_dnssec_type(r.record_type())
        || (answer && r.record_type() == to.query.query_type())
}

/// The full path: `a` as a response `Message` to `to`, encoded. An answer too big for
/// the client's limit (or unencodable) loses its records and gets TC, so the client
/// retries over TCP.
pub(crate) fn encode(shape: &Shape, to: &Waiter, a: &Answer) -> Vec<u8> {
    let mut flags = ReplyFlags {
        opcode: 0,
        rd: to.rd,
        cd: to.cd,
        tc: false,
        rcode: a.rcode,
    };
    let mut m = Message::new(to.id, MessageType::Response, OpCode::Query);
    flags.apply(&mut m);
    m.metadata.authoritative = a.aa;
    // RFC 6840 §5.8: AD only for clients that showed they understand it.
    m.metadata.authentic_data = a.secure
        && (to.dnssec_ok || to.ad)
        && matches!(a.rcode, ResponseCode::NoError | ResponseCode::NXDomain);
    m.add_query(to.query.clone());
    let qname = to.query.name();
    for r in a.answers.iter().filter(|r| for_client(to, r, true)) {
        let mut r = r.clone();
        if r.name == *qname {
            r.name = qname.clone(); // the client's letter case
        }
        r.ttl = shape.ttl(r.ttl);
        m.add_answer(r);
    }
    m.add_authorities(
        a.authority
            .iter()
            .filter(|r| for_client(to, r, false))
            .cloned(),
    );
    if to.edns.is_some() {
        let mut e = Edns::new();
        e.set_max_payload(shape.advertised_udp());
        e.set_dnssec_ok(to.dnssec_ok);
        if let Some(code) = a.ede {
            let data = match &a.ede_text {
                Some(t) => code.option_data_with(t),
                None => code.option_data(),
            };
            e.options_mut()
                .insert(EdnsOption::Unknown(ede::OPTION_CODE, data));
        }
        m.set_edns(e);
    }
    let limit = shape.size_limit(to.client.transport, to.edns);
    match m.to_vec() {
        Ok(b) if b.len() <= limit => b,
        _ => {
            // Too big (or unencodable): header, question and OPT only.
            m.answers.clear();
            m.authorities.clear();
            m.additionals.clear();
            flags.tc = true;
            flags.apply(&mut m);
            m.to_vec().unwrap_or_default()
        }
    }
}

/// Where a fast-path record's owner comes from: the question (client's case) if the
/// stored owner equals the question name, else as stored.
pub(crate) fn owner_of(stored: &[u8], qname: &[u8]) -> Owner {
    if same_name(stored, qname) {
        Owner::Question
    } else {
        Owner::Stored
    }
}

/// Whether two uncompressed wire names are equal, ignoring ASCII case.
pub(crate) fn same_name(a: &[u8], b: &[u8]) -> bool {
    // Byte equality first: clients mostly ask in the case the cache stored, and a plain
    // comparison is one `memcmp`, where `eq_ignore_ascii_case` folds byte by byte (it was
    // 15 % of a cache hit in a profile).
    a.len() == b.len() && a.len() <= MAX_NAME && (a == b || a.eq_ignore_ascii_case(b))
}

/// The cache as a [`Chain`] of decoded records, for answers at admission and for a
/// resolution walking the cache before it asks upstream.
pub(crate) struct CachedChain<'a> {
    /// The cache.
    pub(crate) cache: &'a mut Cache<KeyedHasher>,
    /// The time of the lookups.
    pub(crate) now: Instant,
    /// The question type.
    pub(crate) qtype: RecordType,
    /// The CNAME records followed, in order.
    pub(crate) links: Vec<Record>,
    /// Whether every CNAME followed was cached secure.
    pub(crate) all_secure: bool,
}

impl Chain for CachedChain<'_> {
    type Name = Name;
    type Data = (Hit, u8);
    /// The link's records (a DNAME first, the CNAME, its RRSIGs) and its target.
    type Link = (Vec<Record>, Name);

    fn data(&mut self, at: &mut Name, links: u8) -> Option<(Hit, u8)> {
        self.cache
            .lookup(self.now, at, self.qtype, Rank::NonAuthAnswer, false)
            .map(|h| (h, links))
    }

    fn alias(&mut self, at: &mut Name, cnames: bool) -> Option<(Vec<Record>, Name)> {
        if !cnames {
            return None;
        }
        let hit = self
            .cache
            .lookup(self.now, at, RecordType::CNAME, Rank::NonAuthAnswer, false)?;
        let Data::Records(recs) = hit.data else {
            return None;
        };
        // The first record, which must be a CNAME.
        let rec = recs.into_iter().next()?;
        let target = cname_target(&rec)?.clone();
        self.all_secure &= hit.attached.security == crate::cache::Security::Secure;
        let Attached { sigs, mut lead, .. } = hit.attached;
        lead.push(rec);
        lead.extend(sigs);
        Some((lead, target))
    }

    fn follow(&mut self, (recs, target): (Vec<Record>, Name)) -> Name {
        self.links.extend(recs);
        target
    }
}

/// The full path's cache answer: from the cache alone, following cached CNAMEs. Returns
/// the answer and whether a prefetch is due (only for a hit on the name itself).
pub(crate) fn cached(
    cache: &mut Cache<KeyedHasher>,
    shape: &Shape,
    now: Instant,
    qname: &Name,
    qtype: RecordType,
) -> Option<(Answer, bool)> {
    let mut c = CachedChain {
        cache,
        now,
        qtype,
        links: Vec::new(),
        all_secure: true,
    };
    let cnames = qtype != RecordType::CNAME;
    match chain::walk(&mut c, qname.clone(), cnames, shape.max_links) {
        Walk::Data((hit, links)) => {
            let prefetch = links == 0 && shape.prefetch_due(hit.remaining, hit.original_ttl);
            let mut a = Answer::from_hit(core::mem::take(&mut c.links), hit);
            a.secure &= c.all_secure;
            Some((a, prefetch))
        }
        Walk::End(_) | Walk::TooLong(_) => None,
    }
}
