//! What a resolution asks next: QNAME minimisation (RFC 9156) — which name goes
//! out, how answers to minimised questions move it on, the names known to exist from
//! earlier resolutions ([`super::known`]) — and the DNSSEC key sets primed beside a
//! query to a signed zone.

use hickory_proto::rr::{Name, RecordType};

use super::{Ctx, Resolution};
use crate::cache::{Data, Rank};
use crate::upstream::Ask;

/// RFC 9156 §2.3: minimised queries one resolution sends at most; past them it
/// asks the full name.
const MAX_MINIMISE_COUNT: u8 = 10;
/// RFC 9156 §2.3: the first minimised steps that reveal one label each.
const MINIMISE_ONE_LAB: u8 = 4;

/// QNAME minimisation's progress in one resolution.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Qmin {
    /// Minimised questions answered so far (a referral or an existing name).
    steps: u8,
    /// Labels of the deepest minimised name known to exist in the current zone; 0:
    /// none, start below the zone cut.
    known: u8,
}

impl Resolution {
    /// After a CNAME hop (a new name) or a fallback to the parent zone, QNAME
    /// minimisation starts again below the zone cut, its step count from zero.
    pub(super) fn restart_minimisation(&mut self) {
        if self.qmin.is_some() {
            self.qmin = Some(Qmin::default());
        }
    }

    /// A referral answered a minimised question: the next one starts below the new
    /// cut, one step further on.
    pub(super) fn minimise_after_referral(&mut self) {
        if let Some(q) = self.qmin.as_mut() {
            q.steps = q.steps.saturating_add(1);
            q.known = 0;
        }
    }

    /// The minimised name `asked` exists (NODATA or data) in the current zone: the
    /// next question reveals more below it.
    pub(super) fn minimise_past(&mut self, asked: &Name) {
        if let Some(q) = self.qmin.as_mut() {
            q.steps = q.steps.saturating_add(1);
            q.known = q.known.max(asked.num_labels());
        }
    }

    /// DNSSEC: the zone about to be asked is signed (a trust anchor's, or its DS is
    /// cached from the referral) and its DNSKEY set is not cached, so validating what
    /// it says will need that set: the zone, for the engine to fetch its keys now,
    /// beside this query, rather than one round trip per zone after the answer (as
    /// Unbound primes keys). Only for client-facing resolutions (depth 0), never for
    /// the key question itself.
    pub(super) fn key_to_prime(&self, ctx: &mut Ctx<'_>) -> Option<Name> {
        let d = self.deleg.as_ref()?;
        if self.depth != 0 || d.forward || self.qtype == RecordType::DNSKEY {
            return None;
        }
        let max = usize::from(ctx.cfg.limits.dnssec_key_fetches_per_resolution);
        if self.key_fetches() >= max || self.primed.contains(&d.zone) {
            return None;
        }
        let anchor = ctx.val.anchor_for(&d.zone)?;
        let zone = d.zone.clone();
        let signed = *anchor == zone
            || ctx
                .cache
                .lookup(ctx.now, &zone, RecordType::DS, Rank::Glue, false)
                .is_some_and(|h| matches!(h.data, Data::Records(_)));
        let have_keys = ctx
            .cache
            .lookup(ctx.now, &zone, RecordType::DNSKEY, Rank::Glue, false)
            .is_some();
        (signed && !have_keys).then_some(zone)
    }

    /// The distinct key sets this resolution fetched: looked up for its validation,
    /// or primed.
    pub(super) fn key_fetches(&self) -> usize {
        let primed_only = self
            .primed
            .iter()
            .filter(|z| {
                !self
                    .asked
                    .iter()
                    .any(|(n, t)| n == *z && *t == RecordType::DNSKEY)
            })
            .count();
        self.asked.len().saturating_add(primed_only)
    }

    /// Move QNAME minimisation past the ancestors of `cur` that earlier resolutions
    /// found to exist ([`known::KnownNames`]): asking them again would only repeat
    /// their NODATA. Not a step of RFC 9156's count: nothing is sent.
    pub(super) fn skip_known(&mut self, ctx: &mut Ctx<'_>) {
        while self.qmin.is_some() {
            let ask = self.next_question();
            if ask.name == self.cur || !ctx.known.contains(ctx.now, &ask.name) {
                return;
            }
            let labels = ask.name.num_labels();
            if let Some(q) = self.qmin.as_mut() {
                if q.known >= labels {
                    return; // no progress (cannot happen: the next name is deeper)
                }
                q.known = labels;
            }
        }
    }

    /// The question to send next: the full one, or (QNAME minimisation, RFC 9156
    /// §2.3) the next ancestor of it below the zone cut, asked as type A; and the
    /// zone asked. The first `MINIMISE_ONE_LAB` steps add one label each; the later
    /// ones share the labels left over the steps left of `MAX_MINIMISE_COUNT`, so a
    /// long name (a reverse IPv6 PTR has 34 labels) takes at most that many minimised
    /// queries.
    pub(crate) fn next_question(&self) -> Ask {
        let zone = self
            .deleg
            .as_ref()
            .map_or_else(Name::root, |d| d.zone.clone());
        if let (Some(q), Some(d)) = (self.qmin, self.deleg.as_ref())
            && !d.forward
        {
            let total = self.cur.num_labels();
            let base = d.zone.num_labels().max(q.known);
            if q.steps < MAX_MINIMISE_COUNT && base < total {
                let left = total - base;
                let add = if q.steps < MINIMISE_ONE_LAB {
                    1
                } else {
                    left.div_ceil(MAX_MINIMISE_COUNT - q.steps).max(1)
                };
                let want = base.saturating_add(add);
                if want < total {
                    return Ask {
                        name: self.cur.trim_to(usize::from(want)),
                        qtype: RecordType::A,
                        zone,
                        rd: false,
                    };
                }
            }
        }
        Ask {
            name: self.cur.clone(),
            qtype: self.qtype,
            zone,
            rd: self.deleg.as_ref().is_some_and(|d| d.forward),
        }
    }
}
