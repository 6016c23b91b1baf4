//! The resolutions in flight, with the indexes and queues over them: by question (to
//! coalesce), the ready queue (to advance), the wait queue (for an upstream slot).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

use hickory_proto::rr::{Name, RecordType};

use super::{Id, Resolution, Spent};
use crate::answer::Waiter;
use crate::upstream::Servers;

/// What [`Resolutions::join`] did with a client.
#[derive(Debug)]
pub(crate) enum Join {
    /// It waits on the resolution of its question already in flight.
    Joined,
    /// It is a retransmission of a query already waiting: the answer is on its way.
    Duplicate,
    /// The resolution has `max_waiters_per_resolution` waiters already.
    Full(Waiter),
    /// No resolution of its question is in flight.
    Absent(Waiter),
}

/// The table.
#[derive(Debug, Default)]
pub(crate) struct Resolutions {
    /// Every resolution in flight, by id. At most `Limits::max_resolutions`.
    map: BTreeMap<Id, Resolution>,
    /// The resolution of each question (lower-cased name, type).
    index: BTreeMap<(Name, u16), Id>,
    /// The id the next resolution gets.
    next: Id,
    /// Resolutions to advance, in order.
    ready: VecDeque<Id>,
    /// Resolutions waiting for an upstream slot, oldest first, each with the server it
    /// waits for. At most `max_waiting_resolutions`.
    waiting: VecDeque<(Id, SocketAddr)>,
    /// Clients waiting over all resolutions. At most `Limits::max_client_queries`.
    client_waiters: usize,
}

impl Resolutions {
    /// Resolutions in flight.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Resolutions in the wait queue.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Clients waiting over all resolutions.
    pub(crate) fn client_waiters(&self) -> usize {
        self.client_waiters
    }

    /// Clients waiting over all resolutions whose address is in the same client prefix
    /// as `ip` (see [`same_client`]). A scan over every waiter: at most
    /// `Limits::max_client_queries` (4096 at the most), once per cache miss.
    pub(crate) fn waiters_like(&self, ip: IpAddr) -> usize {
        self.map
            .values()
            .flat_map(|r| r.waiters.iter())
            .filter(|w| same_client(w.client.addr.ip(), ip))
            .count()
    }

    /// Whether `w` is a retransmission of a query already waiting.
    pub(crate) fn is_duplicate(&self, w: &Waiter) -> bool {
        self.find(w.query.name(), w.query.query_type())
            .and_then(|id| self.map.get(&id))
            .is_some_and(|r| {
                r.waiters
                    .iter()
                    .any(|o| o.client == w.client && o.id == w.id)
            })
    }

    /// Resolution `id`.
    pub(crate) fn get(&self, id: Id) -> Option<&Resolution> {
        self.map.get(&id)
    }

    /// Resolution `id`, to change it.
    pub(crate) fn get_mut(&mut self, id: Id) -> Option<&mut Resolution> {
        self.map.get_mut(&id)
    }

    /// Every resolution, by id.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Id, &Resolution)> {
        self.map.iter()
    }

    /// The resolution of `name`/`qtype` in flight, if any.
    pub(crate) fn find(&self, name: &Name, qtype: RecordType) -> Option<Id> {
        self.index.get(&Resolution::key(name, qtype)).copied()
    }

    /// The root of `id`'s tree: the resolution whose budget it spends.
    pub(crate) fn root_of(&self, id: Id) -> Id {
        self.map.get(&id).and_then(|r| r.root).unwrap_or(id)
    }

    /// What `id`'s tree has spent so far; `None` if its root is gone (then it has no
    /// budget left).
    pub(crate) fn spent(&self, id: Id) -> Option<Spent> {
        self.map.get(&self.root_of(id)).map(|r| r.spent)
    }

    /// Charge `sent` upstream queries and `lookups` NS lookups to `id`'s tree.
    pub(crate) fn charge(&mut self, id: Id, sent: u16, lookups: u8) {
        let root = self.root_of(id);
        if let Some(r) = self.map.get_mut(&root) {
            r.spent.sent = r.spent.sent.saturating_add(sent);
            r.spent.lookups = r.spent.lookups.saturating_add(lookups);
        }
    }

    /// Charge `n` DNSSEC signature verifications to `id`'s tree.
    pub(crate) fn charge_verifs(&mut self, id: Id, n: u32) {
        if n == 0 {
            return;
        }
        let root = self.root_of(id);
        if let Some(r) = self.map.get_mut(&root) {
            r.spent.verifs = r.spent.verifs.saturating_add(n);
        }
    }

    /// Add `r`, indexed by its question and ready to advance. Its id.
    pub(crate) fn insert(&mut self, r: Resolution) -> Id {
        self.next += 1;
        let id = self.next;
        self.index.insert(Resolution::key(&r.name, r.qtype), id);
        self.map.insert(id, r);
        self.ready.push_back(id);
        id
    }

    /// Remove resolution `id` (done or failed) from the table, the index and the wait
    /// queue; its waiters no longer count.
    pub(crate) fn remove(&mut self, id: Id) -> Option<Resolution> {
        let r = self.map.remove(&id)?;
        if r.waiting {
            self.waiting.retain(|(w, _)| *w != id);
        }
        let key = Resolution::key(&r.name, r.qtype);
        if self.index.get(&key) == Some(&id) {
            self.index.remove(&key);
        }
        self.client_waiters = self.client_waiters.saturating_sub(r.waiters.len());
        Some(r)
    }

    /// Let `w` wait on the resolution of its question, if one is in flight (the
    /// coalescing stage of admission).
    pub(crate) fn join(&mut self, w: Waiter, max_waiters: usize) -> Join {
        let Some(id) = self.find(w.query.name(), w.query.query_type()) else {
            return Join::Absent(w);
        };
        let Some(r) = self.map.get_mut(&id) else {
            return Join::Absent(w);
        };
        if r.waiters
            .iter()
            .any(|o| o.client == w.client && o.id == w.id)
        {
            return Join::Duplicate;
        }
        if r.waiters.len() >= max_waiters {
            return Join::Full(w);
        }
        r.waiters.push(w);
        self.client_waiters += 1;
        Join::Joined
    }

    /// Add client `w` to resolution `id`.
    pub(crate) fn add_waiter(&mut self, id: Id, w: Waiter) {
        if let Some(r) = self.map.get_mut(&id) {
            r.waiters.push(w);
            self.client_waiters += 1;
        }
    }

    /// Take resolution `id`'s clients (they are answered elsewhere); it goes on
    /// without them.
    pub(crate) fn take_waiters(&mut self, id: Id) -> Vec<Waiter> {
        let Some(r) = self.map.get_mut(&id) else {
            return Vec::new();
        };
        let w = core::mem::take(&mut r.waiters);
        self.client_waiters = self.client_waiters.saturating_sub(w.len());
        w
    }

    /// Queue `id` to advance.
    pub(crate) fn push_ready(&mut self, id: Id) {
        self.ready.push_back(id);
    }

    /// The next resolution to advance.
    pub(crate) fn pop_ready(&mut self) -> Option<Id> {
        self.ready.pop_front()
    }

    /// Put `id`, which has to send to `server` but finds no upstream slot, into the
    /// wait queue; false (and nothing changed) if the queue holds `max` already.
    pub(crate) fn wait_for_slot(&mut self, id: Id, server: SocketAddr, max: usize) -> bool {
        if self.waiting.len() >= max {
            return false;
        }
        let Some(r) = self.map.get_mut(&id) else {
            return false;
        };
        r.waiting = true;
        self.waiting.push_back((id, server));
        true
    }

    /// Move waiting resolutions whose server has a free slot (of `cap`) to the ready
    /// queue, oldest first, at most one per free slot and one per free local port
    /// (`ports`). Returns whether any moved; then it must be called again after they
    /// ran, since a woken resolution may pick another server and leave its slot to the
    /// next one.
    pub(crate) fn wake(&mut self, servers: &Servers, cap: u16, mut ports: usize) -> bool {
        // Free slots per server seen in this pass (a handful of servers at most).
        let mut free: Vec<(SocketAddr, u16)> = Vec::new();
        let mut woke = false;
        let (map, ready) = (&mut self.map, &mut self.ready);
        self.waiting.retain(|&(id, server)| {
            let i = free
                .iter()
                .position(|(s, _)| *s == server)
                .unwrap_or_else(|| {
                    let used = servers.peek(&server).map_or(0, |i| i.in_flight);
                    free.push((server, cap.saturating_sub(used)));
                    free.len() - 1
                });
            let Some(r) = map.get_mut(&id) else {
                return false; // gone (cannot happen: `remove` takes it out)
            };
            let Some((_, slot)) = free.get_mut(i) else {
                return true;
            };
            if ports == 0 || *slot == 0 {
                return true;
            }
            *slot -= 1;
            ports -= 1;
            r.waiting = false;
            ready.push_back(id);
            woke = true;
            false
        });
        woke
    }

    /// Whether the queues and counts agree with the resolutions: the wait queue holds
    /// exactly the resolutions marked waiting (none with a query out), within `max`;
    /// the waiter count is the sum; the index points only at resolutions.
    pub(crate) fn check_invariants(&self, max_waiting: usize) -> bool {
        let waiters: usize = self.map.values().map(|r| r.waiters.len()).sum();
        let marked = self.map.values().filter(|r| r.waiting).count();
        marked == self.waiting.len()
            && self.waiting.iter().all(|(id, _)| {
                self.map
                    .get(id)
                    .is_some_and(|r| r.waiting && r.pending.is_none())
            })
            && self.waiting.len() <= max_waiting
            && waiters == self.client_waiters
            && self.index.len() <= self.map.len()
            && self.index.values().all(|id| self.map.contains_key(id))
    }
}

/// Whether `a` and `b` are one client for the share of client slots: the same IPv4
/// address, or the same IPv6 /64.
pub(crate) fn same_client(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a == b,
        (IpAddr::V6(a), IpAddr::V6(b)) => a.to_bits() >> 64 == b.to_bits() >> 64,
        _ => false,
    }
}
