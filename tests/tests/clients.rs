//! Serving clients: the access list, IPv6 transport, TCP (several connections at once,
//! pipelined queries) and malformed input, against both builds.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use e2e::guest::{Resolver, boot_both};
use e2e::lab::{Lab, LabOptions, OUTSIDE_CLIENT};
use e2e::wire;

const NAMES: [&str; 4] = [
    "www.cdn.example",
    "mail.shop.test",
    "ns1.shop.test",
    "www.glueless.test",
];

fn acl_refuses_outside_clients(lab: &Lab, r: &Resolver) {
    let kind = r.kind().name();
    let d = lab
        .dig(r.v4, &["-b", OUTSIDE_CLIENT, "www.shop.test", "A"])
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    assert_eq!(d.status, "REFUSED", "{kind}: outside client:\n{}", d.raw);
    assert!(
        d.answer.is_empty() && d.authority.is_empty() && d.additional.is_empty(),
        "{kind}: REFUSED carries data:\n{}",
        d.raw
    );
}

fn answers_over_ipv6(lab: &Lab, r: &Resolver) {
    let kind = r.kind().name();
    let d = lab
        .dig(r.v6, &["www.cdn.example", "AAAA"])
        .unwrap_or_else(|e| panic!("{kind}: over IPv6: {e}"));
    assert_eq!(
        d.answer,
        ["www.cdn.example. IN AAAA 2001:db8:80::80"],
        "{kind}:\n{}",
        d.raw
    );
}

/// Four TCP connections at once, each with all queries written before any answer is
/// read (RFC 7766 pipelining); every answer must come back on its connection.
fn tcp_pipelined(lab: &Lab, r: &Resolver) {
    let kind = r.kind().name();
    let server: SocketAddr = format!("{}:53", r.v4).parse().expect("address");
    let result = lab
        .ns()
        .run_inside(move || -> Result<(), String> {
            let mut conns = Vec::new();
            for c in 0..4u16 {
                let mut s = TcpStream::connect_timeout(&server, Duration::from_secs(5))
                    .map_err(|e| format!("connect {c}: {e}"))?;
                s.set_read_timeout(Some(Duration::from_secs(10)))
                    .map_err(|e| e.to_string())?;
                let mut batch = Vec::new();
                for (i, name) in NAMES.iter().enumerate() {
                    batch.extend(wire::framed(&wire::query(
                        c * 100 + i as u16,
                        name,
                        wire::A,
                    )));
                }
                s.write_all(&batch).map_err(|e| format!("write {c}: {e}"))?;
                conns.push((c, s));
            }
            for (c, mut s) in conns {
                let mut ids = Vec::new();
                for _ in NAMES {
                    let mut len = [0u8; 2];
                    s.read_exact(&mut len)
                        .map_err(|e| format!("conn {c}: length: {e}"))?;
                    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    s.read_exact(&mut msg)
                        .map_err(|e| format!("conn {c}: message: {e}"))?;
                    let h = wire::header(&msg).ok_or(format!("conn {c}: not a response"))?;
                    if h.rcode != 0 || h.ancount == 0 {
                        return Err(format!("conn {c}: answer {h:?}"));
                    }
                    ids.push(h.id);
                }
                ids.sort();
                let want: Vec<u16> = (0..NAMES.len() as u16).map(|i| c * 100 + i).collect();
                if ids != want {
                    return Err(format!("conn {c}: ids {ids:?}, want {want:?}"));
                }
            }
            Ok(())
        })
        .and_then(|r| r);
    if let Err(e) = result {
        panic!("{kind}: pipelined TCP: {e}");
    }
}

/// Garbage at port 53 over UDP and TCP, then a good query: still answered.
fn survives_malformed_input(lab: &Lab, r: &Resolver) {
    let kind = r.kind().name();
    let server: SocketAddr = format!("{}:53", r.v4).parse().expect("address");
    let sent = lab
        .ns()
        .run_inside(move || -> Result<usize, String> {
            let mut bad: Vec<Vec<u8>> = vec![
                vec![],
                vec![0x12],
                vec![0; 11],
                vec![0xff; 12],
                vec![0xff; 512],
            ];
            // A question name that points at itself (a compression loop).
            let mut looped = wire::query(7, "a.b", wire::A);
            looped.truncate(12);
            looped.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
            bad.push(looped);
            // A pointer forward, past the end.
            let mut fwd = wire::query(8, "a.b", wire::A);
            fwd.truncate(12);
            fwd.extend_from_slice(&[0xc0, 200, 0, 1, 0, 1]);
            bad.push(fwd);
            // A query claiming 65535 questions.
            let mut many = wire::query(9, "x.test", wire::A);
            many[4] = 0xff;
            many[5] = 0xff;
            bad.push(many);
            // A response (QR set) sent to the server.
            let mut resp = wire::query(10, "x.test", wire::A);
            resp[2] |= 0x80;
            bad.push(resp);
            // Pseudo-random junk.
            let mut x: u32 = 0x1234_5678;
            for len in [3usize, 17, 64, 300, 1400] {
                let v = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        x as u8
                    })
                    .collect();
                bad.push(v);
            }
            let sock = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
            for b in &bad {
                sock.send_to(b, server).map_err(|e| e.to_string())?;
            }
            // TCP: an oversized length prefix, a zero one, and a connection cut mid-message.
            for prefix in [[0xff, 0xff], [0, 0], [0, 40]] {
                if let Ok(mut s) = TcpStream::connect_timeout(&server, Duration::from_secs(5)) {
                    let _ = s.write_all(&prefix);
                    let _ = s.write_all(&[1, 2, 3]);
                }
            }
            Ok(bad.len())
        })
        .and_then(|r| r)
        .unwrap_or_else(|e| panic!("{kind}: sending garbage: {e}"));
    let d = lab
        .dig(r.v4, &["www.cdn.example", "A"])
        .unwrap_or_else(|e| panic!("{kind}: no answer after {sent} malformed packets: {e}"));
    assert_eq!(d.answer, ["www.cdn.example. IN A 203.0.113.80"], "{kind}");
}

/// `n` queries for a cached name sent back to back from one socket, so that they reach
/// the resolver between two of its polls; returns how many distinct ones were answered
/// within `wait`. A second thread reads the answers as they come, so the client's own
/// receive buffer does not drop them.
fn udp_burst(lab: &Lab, r: &Resolver, n: u16, wait: Duration) -> usize {
    let kind = r.kind().name();
    let server: SocketAddr = format!("{}:53", r.v4).parse().expect("address");
    let d = lab
        .dig(r.v4, &["www.cdn.example", "A"])
        .unwrap_or_else(|e| panic!("{kind}: warming the cache: {e}"));
    assert_eq!(d.status, "NOERROR", "{kind}");
    lab.ns()
        .run_inside(move || -> Result<usize, String> {
            let sock = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
            let rx = sock.try_clone().map_err(|e| e.to_string())?;
            rx.set_read_timeout(Some(Duration::from_millis(100)))
                .map_err(|e| e.to_string())?;
            let queries: Vec<Vec<u8>> = (0..n)
                .map(|i| wire::query(0x4000 + i, "www.cdn.example", wire::A))
                .collect();
            let reader = std::thread::spawn(move || {
                let mut seen = std::collections::HashSet::new();
                let end = Instant::now() + wait;
                let mut buf = [0u8; 2048];
                while seen.len() < usize::from(n) && Instant::now() < end {
                    if let Ok((len, _)) = rx.recv_from(&mut buf)
                        && let Some(h) = wire::header(&buf[..len])
                        && h.rcode == 0
                        && h.ancount > 0
                    {
                        seen.insert(h.id);
                    }
                }
                seen.len()
            });
            for q in &queries {
                sock.send_to(q, server).map_err(|e| e.to_string())?;
            }
            reader.join().map_err(|_| "reader panicked".to_string())
        })
        .and_then(|r| r)
        .unwrap_or_else(|e| panic!("{kind}: burst: {e}"))
}

/// A burst of queries arriving between two polls is answered in full: the netstack
/// leaves what its event queue cannot take in the NIC's queue and flushes replies when
/// its transmit buffer fills. Before, of 256 the hvt guest answered 64 and the unix
/// build 181 to 208. The hvt guest is emulated on the CI machine (docs/KVM-PVM.md), so
/// it gets more time (2.9 s were needed).
#[test]
fn udp_burst_between_polls_is_answered() -> e2e::Result<()> {
    let lab = Lab::start(LabOptions::default())?;
    let hints = format!("--root-hints={}", lab.root_hints());
    let resolvers = boot_both(&lab, &[&hints])?;
    let mut short = Vec::new();
    for r in &resolvers {
        let (n, wait) = match r.kind() {
            e2e::guest::Kind::Unix => (256, Duration::from_secs(10)),
            e2e::guest::Kind::Hvt => (256, Duration::from_secs(30)),
        };
        let t = Instant::now();
        let answered = udp_burst(&lab, r, n, wait);
        let line = format!(
            "{}: burst of {n}: {answered} answered in {:.1?}",
            r.kind().name(),
            t.elapsed()
        );
        eprintln!("{line}");
        if answered != usize::from(n) {
            short.push(line);
        }
    }
    assert!(short.is_empty(), "{short:?}");
    Ok(())
}

#[test]
fn acl_ipv6_tcp_and_malformed_input() -> e2e::Result<()> {
    let t = Instant::now();
    let lab = Lab::start(LabOptions::default())?;
    let hints = format!("--root-hints={}", lab.root_hints());
    let resolvers = boot_both(&lab, &[&hints])?;
    for r in &resolvers {
        let g = Instant::now();
        acl_refuses_outside_clients(&lab, r);
        answers_over_ipv6(&lab, r);
        tcp_pipelined(&lab, r);
        survives_malformed_input(&lab, r);
        eprintln!("{}: clients checks in {:?}", r.kind().name(), g.elapsed());
    }
    eprintln!("clients group: {:?}", t.elapsed());
    Ok(())
}
