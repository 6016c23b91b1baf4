//! A one-zone authoritative DNS server over UDP, small enough to cross-build as a static
//! aarch64 program for the emulated arm64 machine of `e2e::aarch64` (Debian's
//! busybox-static has no `dnsd`). It is the upstream the unikernel forwards to there.
//!
//!     stub-dns ADDR:PORT NAME=IPV4 [NAME=IPV4]...
//!
//! An A question for a listed name gets that address (TTL 300); any other type for a
//! listed name gets an empty NOERROR answer, and an unlisted name NXDOMAIN. Every answer
//! is authoritative and has no authority or additional section (an OPT in the query is
//! ignored). Each answered question is logged on stderr.

use std::net::{Ipv4Addr, UdpSocket};
use std::process::ExitCode;

const TYPE_A: u16 = 1;
const CLASS_IN: u16 = 1;
const RCODE_NXDOMAIN: u8 = 3;
const RCODE_FORMERR: u8 = 1;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((addr, records)) = args.split_first() else {
        eprintln!("usage: stub-dns ADDR:PORT NAME=IPV4...");
        return ExitCode::FAILURE;
    };
    let mut zone = Vec::new();
    for r in records {
        let parsed = r.split_once('=').and_then(|(n, a)| {
            Some((
                n.trim_end_matches('.').to_ascii_lowercase(),
                a.parse::<Ipv4Addr>().ok()?,
            ))
        });
        match parsed {
            Some(rec) => zone.push(rec),
            None => {
                eprintln!("stub-dns: bad record `{r}` (expected NAME=IPV4)");
                return ExitCode::FAILURE;
            }
        }
    }
    let sock = match UdpSocket::bind(addr.as_str()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("stub-dns: cannot bind {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("stub-dns: serving {} name(s) on {addr}", zone.len());
    let mut buf = [0u8; 1500];
    loop {
        let (n, peer) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("stub-dns: recv: {e}");
                continue;
            }
        };
        if let Some((reply, what)) = answer(&buf[..n], &zone) {
            eprintln!("stub-dns: {peer}: {what}");
            let _ = sock.send_to(&reply, peer);
        }
    }
}

/// The reply to one query and a line describing it; `None` for packets not worth a reply
/// (responses, or too short to carry an id).
fn answer(q: &[u8], zone: &[(String, Ipv4Addr)]) -> Option<(Vec<u8>, String)> {
    if q.len() < 12 || q[2] & 0x80 != 0 {
        return None;
    }
    let mut r = Vec::with_capacity(q.len() + 16);
    r.extend_from_slice(&q[..2]);
    // QR, opcode 0, AA, RD copied; RA.
    r.push(0x84 | (q[2] & 0x01));
    r.push(0x80);
    let Some((name, end)) = question(q) else {
        r[3] |= RCODE_FORMERR;
        r.extend_from_slice(&[0; 8]);
        return Some((r, "FORMERR".into()));
    };
    let qtype = u16::from_be_bytes([q[end - 4], q[end - 3]]);
    let qclass = u16::from_be_bytes([q[end - 2], q[end - 1]]);
    let found = zone.iter().find(|(n, _)| *n == name);
    let a = found.filter(|_| qtype == TYPE_A && qclass == CLASS_IN);
    if found.is_none() {
        r[3] |= RCODE_NXDOMAIN;
    }
    r.extend_from_slice(&[0, 1, 0, u8::from(a.is_some()), 0, 0, 0, 0]);
    r.extend_from_slice(&q[12..end]);
    let what = match a {
        Some((_, ip)) => {
            // Name: pointer to the question; A IN, TTL 300, 4 bytes.
            r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4]);
            r.extend_from_slice(&ip.octets());
            format!("{name} type {qtype}: {ip}")
        }
        None if found.is_some() => format!("{name} type {qtype}: no data"),
        None => format!("{name} type {qtype}: NXDOMAIN"),
    };
    Some((r, what))
}

/// The question's name (lower case, dotted, no trailing dot) and the offset just past its
/// type and class.
fn question(q: &[u8]) -> Option<(String, usize)> {
    if u16::from_be_bytes([q[4], q[5]]) != 1 {
        return None;
    }
    let mut labels = Vec::new();
    let mut i = 12;
    loop {
        let len = usize::from(*q.get(i)?);
        if len == 0 {
            i += 1;
            break;
        }
        if len > 63 {
            return None;
        }
        let label = q.get(i + 1..i + 1 + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        i += 1 + len;
    }
    (q.len() >= i + 4).then(|| (labels.join("."), i + 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
        for l in name.split('.') {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&[0, 1]);
        // An OPT record, as resolvers send.
        q.extend_from_slice(&[0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0]);
        q
    }

    #[test]
    fn answers_a_keeps_case_and_refuses_the_rest() {
        let zone = vec![("www.example.test".to_string(), Ipv4Addr::new(192, 0, 2, 80))];
        let (r, _) = answer(&query("wWw.Example.TEST", TYPE_A), &zone).unwrap();
        assert_eq!(&r[..4], &[0x12, 0x34, 0x85, 0x80]);
        assert_eq!(&r[4..12], &[0, 1, 0, 1, 0, 0, 0, 0]);
        assert_eq!(&r[13..16], b"wWw");
        assert_eq!(&r[r.len() - 4..], &[192, 0, 2, 80]);
        let (r, _) = answer(&query("www.example.test", 28), &zone).unwrap();
        assert_eq!((r[3], r[7]), (0x80, 0), "AAAA: NOERROR, no data");
        let (r, _) = answer(&query("nope.example.test", TYPE_A), &zone).unwrap();
        assert_eq!(r[3] & 0xf, RCODE_NXDOMAIN);
        assert!(answer(&[0; 11], &zone).is_none());
        let mut resp = query("www.example.test", TYPE_A);
        resp[2] |= 0x80;
        assert!(answer(&resp, &zone).is_none());
    }
}
