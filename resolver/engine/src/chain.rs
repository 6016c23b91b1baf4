//! The one CNAME walker. Every place that follows an alias chain — the fast path over
//! pre-encoded cache entries, the full path's cached answer, a resolution walking the
//! cache before it asks upstream, and [`crate::scrub::classify`] over a response's
//! answer section — is a [`Chain`] source driven by [`walk`], so the rules live here
//! once:
//!
//! * at each name, the question type's data first; only if there is none, an alias;
//! * a CNAME question does not follow CNAMEs (a source may still follow a DNAME);
//! * at most `max_links` links are followed; finding one more is [`Walk::TooLong`]
//!   (a loop ends there too), and that last link is not followed;
//! * every link found is screened by its source ([`Chain::screen`]; the fast path asks
//!   policy whether it leads into a blocked name) before it is followed.
//!
//! A source decides what "data" and "alias" mean over its storage and keeps what it
//! collects along the way (the chain's records, a reply under construction).

pub(crate) use crate::policy::Verdict;

/// A store an alias chain can be walked through.
pub(crate) trait Chain {
    /// Where the walk is: a name in the source's form.
    type Name;
    /// What ends the walk at a name (an answer, NODATA, NXDOMAIN, or the source's
    /// verdict that the walk must stop).
    type Data;
    /// An alias found at a name, not yet followed.
    type Link;

    /// The question type's data at `at`, reached after `links` links; `None` if there
    /// is none (then the walker looks for an alias).
    fn data(&mut self, at: &mut Self::Name, links: u8) -> Option<Self::Data>;

    /// An alias at `at`: a CNAME if `cnames` (the question is not for CNAME), or
    /// another kind the source knows (DNAME). `None` ends the walk at `at`.
    fn alias(&mut self, at: &mut Self::Name, cnames: bool) -> Option<Self::Link>;

    /// Follow `link` (collect its records): the name it leads to.
    fn follow(&mut self, link: Self::Link) -> Self::Name;

    /// Whether `link` may be followed; `Stop` ends the walk at the name it was found
    /// at. Sources that leave policy to the end of the chain keep the default.
    fn screen(&mut self, _link: &Self::Link) -> Verdict {
        Verdict::Continue
    }
}

/// How a walk ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Walk<N, D> {
    /// Data at the end of the chain.
    Data(D),
    /// Neither data nor an alias at this name (the start, or the last link's target).
    End(N),
    /// One link more than allowed was found at this name (not followed).
    TooLong(N),
}

/// Walk `src` from `start`. `cnames`: whether CNAMEs are followed (false for a CNAME
/// question). See the module docs for the rules.
pub(crate) fn walk<C: Chain>(
    src: &mut C,
    start: C::Name,
    cnames: bool,
    max_links: u8,
) -> Walk<C::Name, C::Data> {
    let mut at = start;
    let mut links = 0u8;
    loop {
        if let Some(d) = src.data(&mut at, links) {
            return Walk::Data(d);
        }
        let Some(link) = src.alias(&mut at, cnames) else {
            return Walk::End(at);
        };
        if links >= max_links {
            return Walk::TooLong(at);
        }
        if src.screen(&link) == Verdict::Stop {
            return Walk::End(at);
        }
        at = src.follow(link);
        links += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Names are numbers; `n` aliases to `n + 1` below `aliases`; data at `data`.
    struct Line {
        aliases: u8,
        data: u8,
        followed: Vec<u8>,
    }

    impl Chain for Line {
        type Name = u8;
        type Data = (u8, u8);
        type Link = u8;
        fn data(&mut self, at: &mut u8, links: u8) -> Option<(u8, u8)> {
            (*at == self.data).then_some((*at, links))
        }
        fn alias(&mut self, at: &mut u8, cnames: bool) -> Option<u8> {
            (cnames && *at < self.aliases).then_some(*at + 1)
        }
        fn follow(&mut self, link: u8) -> u8 {
            self.followed.push(link);
            link
        }
    }

    fn line(aliases: u8, data: u8) -> Line {
        Line {
            aliases,
            data,
            followed: Vec::new(),
        }
    }

    #[test]
    fn data_first_then_aliases_up_to_the_limit() {
        assert_eq!(walk(&mut line(5, 0), 0, true, 8), Walk::Data((0, 0)));
        assert_eq!(walk(&mut line(5, 3), 0, true, 8), Walk::Data((3, 3)));
        assert_eq!(walk(&mut line(3, 9), 0, true, 8), Walk::End(3));
        // Exactly the limit is fine; one more link is too long and not followed.
        assert_eq!(walk(&mut line(9, 8), 0, true, 8), Walk::Data((8, 8)));
        let mut l = line(20, 99);
        assert_eq!(walk(&mut l, 0, true, 8), Walk::TooLong(8));
        assert_eq!(l.followed.len(), 8);
        // A CNAME question follows no CNAME.
        assert_eq!(walk(&mut line(5, 3), 0, false, 8), Walk::End(0));
    }
}
