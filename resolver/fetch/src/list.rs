//! The blocklist line parser: feed it a list's bytes in chunks of any size, it yields the
//! domains, lowercased and validated, and counts everything it skipped.
//!
//! The format is detected per line, so a list may mix them:
//! - hosts files: `0.0.0.0 ads.example tracker.example  # comment` (any IPv4 or IPv6
//!   address first; every name after it; `localhost` and its kin are skipped);
//! - one domain per line: `ads.example`;
//! - AdBlock-style domain anchors: `||ads.example^` (only this plain form; exceptions
//!   `@@…`, options `$…`, paths, wildcards and cosmetic rules are skipped and counted).
//!
//! `#` and `!` start comment lines (and `#` an inline comment after a name); `[Adblock …]`
//! headers count as comments; a UTF-8 byte-order mark is dropped; lines end in LF or CRLF.
//! A name is taken only if every label is 1–63 bytes of `a-z 0-9 - _`, the whole at most
//! 253 bytes, with at least two labels and not an IPv4 address: a single bad line must not
//! block a whole top-level domain.

use alloc::vec::Vec;
use core::net::IpAddr;

/// Default longest line: longer ones are skipped whole (and counted).
pub const DEFAULT_MAX_LINE: usize = 4096;
/// Default cap on the domains one list may contribute.
pub const DEFAULT_MAX_ENTRIES: u64 = 1 << 20;

/// What a list contributes at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    /// Longest line in bytes (without its line end).
    pub max_line: usize,
    /// Domains yielded at most; the rest are counted in [`ListStats::over_cap`].
    pub max_entries: u64,
}

impl Default for ListLimits {
    fn default() -> Self {
        ListLimits {
            max_line: DEFAULT_MAX_LINE,
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }
}

/// Counters of one list, for the stats line and the counter registry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListStats {
    /// Lines seen.
    pub lines: u64,
    /// Domains yielded.
    pub domains: u64,
    /// Comment and blank lines.
    pub comments: u64,
    /// Names refused by the validity rules (bad bytes, label or name too long, one label,
    /// an address where a name belongs).
    pub invalid: u64,
    /// Lines of a form this parser does not take (AdBlock rules other than `||name^`,
    /// a line of several words that is no hosts line).
    pub unsupported: u64,
    /// Lines longer than [`ListLimits::max_line`].
    pub too_long: u64,
    /// Valid domains dropped because [`ListLimits::max_entries`] was reached.
    pub over_cap: u64,
    /// Hosts-file names that are the machine's own (`localhost`, `broadcasthost`, …).
    pub local_names: u64,
}

/// The streaming parser (one per list fetch).
#[derive(Debug)]
pub struct ListParser {
    limits: ListLimits,
    stats: ListStats,
    /// The start of a line whose end has not arrived yet.
    partial: Vec<u8>,
    /// The current line is over the cap: drop bytes until its end.
    skipping: bool,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Bytes that make a line an AdBlock rule of a kind other than `||name^` (anchors,
/// separators, wildcards, paths, options): such a line is unsupported, not an invalid name.
const ADBLOCK_SYNTAX: &[u8] = b"|^*/$";

impl ListParser {
    pub fn new(limits: ListLimits) -> ListParser {
        ListParser {
            limits,
            stats: ListStats::default(),
            partial: Vec::new(),
            skipping: false,
        }
    }

    pub fn stats(&self) -> &ListStats {
        &self.stats
    }

    /// Takes the next bytes of the list; calls `on_domain` for each domain found in the
    /// lines they complete.
    pub fn feed(&mut self, mut bytes: &[u8], on_domain: &mut dyn FnMut(&str)) {
        while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            let (line, rest) = bytes.split_at(nl);
            bytes = rest.get(1..).unwrap_or(&[]);
            if self.skipping {
                self.skipping = false;
                self.partial.clear();
                continue;
            }
            if self.partial.is_empty() {
                self.line(line, on_domain);
            } else {
                let mut whole = core::mem::take(&mut self.partial);
                if whole.len() + line.len() > self.limits.max_line + self.slack() {
                    self.stats.lines += 1;
                    self.stats.too_long += 1;
                } else {
                    whole.extend_from_slice(line);
                    self.line(&whole, on_domain);
                }
                whole.clear();
                self.partial = whole;
            }
        }
        if bytes.is_empty() || self.skipping {
            return;
        }
        if self.partial.len() + bytes.len() > self.limits.max_line + self.slack() {
            self.stats.lines += 1;
            self.stats.too_long += 1;
            self.skipping = true;
            self.partial.clear();
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// The list has ended: the last line needs no line end.
    pub fn finish(&mut self, on_domain: &mut dyn FnMut(&str)) {
        if !self.skipping && !self.partial.is_empty() {
            let last = core::mem::take(&mut self.partial);
            self.line(&last, on_domain);
        }
        self.skipping = false;
        self.partial.clear();
    }

    /// What a line may hold beyond `max_line` before `line` strips it: the CR of a CRLF
    /// line end, and on the first line a byte-order mark. The early cut-offs for lines
    /// fed in pieces allow the same, so a list's counters do not depend on how it
    /// arrives (the fuzz target found a BOM line of 257 bytes counted two ways).
    fn slack(&self) -> usize {
        1 + if self.stats.lines == 0 { BOM.len() } else { 0 }
    }

    fn line(&mut self, line: &[u8], on_domain: &mut dyn FnMut(&str)) {
        let line = match self.stats.lines {
            0 => line.strip_prefix(BOM).unwrap_or(line),
            _ => line,
        };
        self.stats.lines += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.limits.max_line {
            self.stats.too_long += 1;
            return;
        }
        let line = line.trim_ascii();
        match line.first() {
            None | Some(b'#') | Some(b'!') | Some(b'[') => {
                self.stats.comments += 1;
                return;
            }
            _ => {}
        }
        if let Some(rule) = line.strip_prefix(b"||") {
            match rule.strip_suffix(b"^") {
                Some(name) if !name.iter().any(|b| ADBLOCK_SYNTAX.contains(b)) => {
                    self.name(name, on_domain)
                }
                _ => self.stats.unsupported += 1,
            }
            return;
        }
        if line.starts_with(b"@@") || line.iter().any(|b| ADBLOCK_SYNTAX.contains(b)) {
            self.stats.unsupported += 1;
            return;
        }
        // An inline comment starts with `#` after whitespace; a `#` inside a word is an
        // AdBlock cosmetic rule (`example.com##.banner`), which blocks no name.
        let line = match line.iter().position(|&b| b == b'#') {
            Some(i)
                if i.checked_sub(1)
                    .and_then(|j| line.get(j))
                    .is_some_and(u8::is_ascii_whitespace) =>
            {
                line.get(..i).unwrap_or(line).trim_ascii_end()
            }
            Some(_) => {
                self.stats.unsupported += 1;
                return;
            }
            None => line,
        };
        let mut words = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty());
        let Some(first) = words.next() else {
            self.stats.comments += 1;
            return;
        };
        if is_address(first) {
            let mut any = false;
            for w in words {
                any = true;
                if is_local_name(w) {
                    self.stats.local_names += 1;
                } else {
                    self.name(w, on_domain);
                }
            }
            if !any {
                // An address alone is no entry.
                self.stats.invalid += 1;
            }
            return;
        }
        if words.next().is_some() {
            self.stats.unsupported += 1;
            return;
        }
        self.name(first, on_domain);
    }

    fn name(&mut self, raw: &[u8], on_domain: &mut dyn FnMut(&str)) {
        let mut buf = [0u8; MAX_NAME];
        let Some(name) = normalise(raw, &mut buf) else {
            self.stats.invalid += 1;
            return;
        };
        if self.stats.domains >= self.limits.max_entries {
            self.stats.over_cap += 1;
            return;
        }
        self.stats.domains += 1;
        on_domain(name);
    }
}

/// Longest name, presentation form without the final dot (RFC 1035's 255 octets on the
/// wire).
pub const MAX_NAME: usize = 253;
/// Longest label.
pub const MAX_LABEL: usize = 63;

/// Validates and lowercases a name into `buf`; `None` if it is not one a list may block.
pub fn normalise<'a>(raw: &[u8], buf: &'a mut [u8; MAX_NAME]) -> Option<&'a str> {
    let raw = raw.strip_suffix(b".").unwrap_or(raw);
    if raw.is_empty() || raw.len() > MAX_NAME {
        return None;
    }
    let mut labels = 0usize;
    for label in raw.split(|&b| b == b'.') {
        if label.is_empty() || label.len() > MAX_LABEL {
            return None;
        }
        if !label
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        {
            return None;
        }
        labels += 1;
    }
    if labels < 2
        || core::str::from_utf8(raw)
            .ok()?
            .parse::<core::net::Ipv4Addr>()
            .is_ok()
    {
        return None;
    }
    let out = buf.get_mut(..raw.len())?;
    for (o, b) in out.iter_mut().zip(raw) {
        *o = b.to_ascii_lowercase();
    }
    core::str::from_utf8(out).ok()
}

fn is_address(word: &[u8]) -> bool {
    let Ok(s) = core::str::from_utf8(word) else {
        return false;
    };
    // `fe80::1%lo0` in some hosts files.
    let s = s.split('%').next().unwrap_or(s);
    s.parse::<IpAddr>().is_ok()
}

fn is_local_name(word: &[u8]) -> bool {
    const LOCAL: &[&[u8]] = &[
        b"localhost",
        b"localhost.localdomain",
        b"local",
        b"broadcasthost",
        b"ip6-localhost",
        b"ip6-loopback",
        b"ip6-localnet",
        b"ip6-mcastprefix",
        b"ip6-allnodes",
        b"ip6-allrouters",
        b"ip6-allhosts",
        b"0.0.0.0",
    ];
    LOCAL.iter().any(|l| l.eq_ignore_ascii_case(word))
}
