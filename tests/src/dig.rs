//! `dig`, run inside a lab, and its answer taken apart section by section so two
//! resolvers' answers can be compared with the TTLs left out.

use std::time::{Duration, Instant};

use crate::Result;
use crate::netns::Netns;

/// One `dig` answer.
#[derive(Debug, Clone, Default)]
pub struct Dig {
    /// RCODE name: NOERROR, NXDOMAIN, SERVFAIL, REFUSED, …
    pub status: String,
    /// Header flags (qr, aa, tc, rd, ra, …).
    pub flags: Vec<String>,
    /// Answer section, each record as `name class type rdata` (TTL removed, name lower-cased).
    pub answer: Vec<String>,
    /// Authority section, same form.
    pub authority: Vec<String>,
    /// Additional section without the OPT pseudo-record, same form.
    pub additional: Vec<String>,
    /// Whether the OPT pseudo-record came back.
    pub edns: bool,
    /// The INFO-CODEs of the Extended DNS Error options (RFC 8914) in the OPT record,
    /// in order.
    pub ede: Vec<u16>,
    /// TTLs of the answer records, in order.
    pub answer_ttls: Vec<u32>,
    /// Wall time dig took, as measured around the process.
    pub elapsed: Duration,
    /// dig's own "Query time".
    pub query_ms: Option<u64>,
    /// dig's whole output.
    pub raw: String,
}

impl Dig {
    /// The three record sections, sorted, for comparing two resolvers' answers.
    pub fn sections(&self) -> [Vec<String>; 3] {
        let mut a = self.answer.clone();
        let mut b = self.authority.clone();
        let mut c = self.additional.clone();
        a.sort();
        b.sort();
        c.sort();
        [a, b, c]
    }

    /// Whether the header flag `f` is set.
    pub fn has_flag(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }
}

/// Runs `dig @server ARGS…` in `ns`: one try, at most 4 s.
pub fn run(ns: &Netns, server: &str, args: &[&str]) -> Result<Dig> {
    let start = Instant::now();
    let out = ns
        .command("dig")
        .arg(format!("@{server}"))
        .args(["+tries=1", "+time=4", "+nocookie"])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run dig: {e}"))?;
    let elapsed = start.elapsed();
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "dig @{server} {} failed: {}{}",
            args.join(" "),
            raw.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut d = parse(&raw);
    d.elapsed = elapsed;
    Ok(d)
}

/// Parses dig's default output.
pub fn parse(raw: &str) -> Dig {
    let mut d = Dig {
        raw: raw.to_owned(),
        ..Dig::default()
    };
    let mut section = "";
    for line in raw.lines() {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix(";; ->>HEADER<<-") {
            for part in rest.split(',') {
                if let Some(s) = part.trim().strip_prefix("status: ") {
                    d.status = s.trim().to_owned();
                }
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix(";; flags:") {
            let flags = rest.split(';').next().unwrap_or("");
            d.flags = flags.split_whitespace().map(str::to_owned).collect();
            continue;
        }
        if line.starts_with(";; OPT PSEUDOSECTION") {
            d.edns = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("; EDE: ") {
            let code = rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap_or("");
            if let Ok(code) = code.parse() {
                d.ede.push(code);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix(";; Query time: ") {
            d.query_ms = rest.split_whitespace().next().and_then(|n| n.parse().ok());
            continue;
        }
        if line.starts_with(";; ANSWER SECTION") {
            section = "answer";
            continue;
        }
        if line.starts_with(";; AUTHORITY SECTION") {
            section = "authority";
            continue;
        }
        if line.starts_with(";; ADDITIONAL SECTION") {
            section = "additional";
            continue;
        }
        if line.is_empty() || line.starts_with(';') {
            if line.is_empty() {
                section = "";
            }
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let rr = format!(
            "{} {} {} {}",
            f[0].to_lowercase(),
            f[2],
            f[3],
            f[4..].join(" ")
        );
        match section {
            "answer" => {
                d.answer_ttls.push(f[1].parse().unwrap_or(0));
                d.answer.push(rr);
            }
            "authority" => d.authority.push(rr),
            "additional" => d.additional.push(rr),
            _ => {}
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_and_drops_ttls() {
        let raw = "\
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 1\n\
;; flags: qr rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 1, ADDITIONAL: 1\n\
\n\
;; OPT PSEUDOSECTION:\n\
; EDNS: version: 0, flags:; udp: 1232\n\
; EDE: 7 (Signature Expired): (validation failure)\n\
;; QUESTION SECTION:\n\
;www.Shop.test.\t\tIN\tA\n\
\n\
;; ANSWER SECTION:\n\
www.Shop.test.\t300\tIN\tCNAME\twww.cdn.example.\n\
\n\
;; AUTHORITY SECTION:\n\
test.\t\t299\tIN\tSOA\tns1.nic.test. hostmaster.test. 1 1800 900 604800 300\n\
\n\
;; Query time: 3 msec\n";
        let d = parse(raw);
        assert_eq!(d.status, "NXDOMAIN");
        assert!(d.has_flag("ra") && !d.has_flag("aa"));
        assert!(d.edns);
        assert_eq!(d.ede, [7]);
        assert_eq!(d.answer, ["www.shop.test. IN CNAME www.cdn.example."]);
        assert_eq!(d.answer_ttls, [300]);
        assert_eq!(
            d.authority,
            ["test. IN SOA ns1.nic.test. hostmaster.test. 1 1800 900 604800 300"]
        );
        assert_eq!(d.query_ms, Some(3));
    }
}
