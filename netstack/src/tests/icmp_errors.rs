//! ICMP errors: port unreachables to stray datagrams, rate-limited, and the classifier that reads them.

use super::*;

/// ICMP port-unreachable messages (v4 or v6) among `frames`.
fn port_unreachables(frames: &VecDeque<Vec<u8>>) -> usize {
    frames
        .iter()
        .filter(|f| {
            let Ok(eth) = EthernetFrame::new_checked(f.as_slice()) else {
                return false;
            };
            match eth.ethertype() {
                EthernetProtocol::Ipv4 => Ipv4Packet::new_checked(eth.payload())
                    .ok()
                    .filter(|ip| ip.next_header() == IpProtocol::Icmp)
                    .and_then(|ip| {
                        let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
                        Some(
                            icmp.msg_type() == Icmpv4Message::DstUnreachable
                                && icmp.msg_code() == 3,
                        )
                    })
                    .unwrap_or(false),
                EthernetProtocol::Ipv6 => Ipv6Packet::new_checked(eth.payload())
                    .ok()
                    .filter(|ip| ip.next_header() == IpProtocol::Icmpv6)
                    .and_then(|ip| {
                        let icmp = Icmpv6Packet::new_checked(ip.payload()).ok()?;
                        Some(
                            icmp.msg_type() == Icmpv6Message::DstUnreachable
                                && icmp.msg_code() == 4,
                        )
                    })
                    .unwrap_or(false),
                _ => false,
            }
        })
        .count()
}

/// B sprays `n` datagrams at closed port 9999 of A (address `dst`), from `n` source
/// ports, at `now`; A polls once. Returns the ICMP port-unreachable messages A sent.
fn spray_closed_port(
    a: &mut Stack<SimNic>,
    b: &mut Stack<SimNic>,
    to_b: &Queue,
    dst: IpAddr,
    n: u16,
    now: u64,
) -> usize {
    for i in 0..n {
        b.send_udp(3000 + i, sa(dst, 9999), b"stray").unwrap();
    }
    let _ = b.poll(now);
    let _ = a.poll(now);
    let sent = port_unreachables(&to_b.borrow());
    let _ = b.poll(now);
    for i in 0..n {
        b.close_udp(3000 + i);
    }
    sent
}

fn icmp_errors_are_rate_limited(dst: IpAddr) {
    let la = NetLimits {
        icmp_errors_per_sec: 5,
        icmp_error_burst: 3,
        // The whole spray in one poll.
        max_frames_per_poll: 1000,
        ..NetLimits::default()
    };
    let lb = NetLimits {
        upstream_udp_sockets: 100,
        upstream_udp_tx_packets: 1,
        ..NetLimits::default()
    };
    let (ab, ba) = link();
    let mut a = stack(MAC_A, ba.clone(), ab.clone(), &config(A4, A6, la));
    let mut b = stack(MAC_B, ab.clone(), ba, &config(B4, B6, lb));
    // Neighbours first: one query to port 53 and its reply.
    b.send_udp(1000, sa(dst, 53), b"warm").unwrap();
    let mut now = SEC;
    let mut ea = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut a, &mut ea) == 1);
    let (client, transport, _) = query(&ea[0]);
    a.reply(client, transport, b"warm").unwrap();
    let mut eb = Vec::new();
    run_until!(now, SEC, [a, b], drain(&mut b, &mut eb) == 1);
    b.close_udp(1000);
    // A spray of 100: the burst goes out, the rest is suppressed.
    assert_eq!(spray_closed_port(&mut a, &mut b, &ab, dst, 100, now), 3);
    assert_eq!(a.stats().icmp_errors_suppressed, 97);
    // 200 ms later the bucket holds one more.
    now += 200 * MS;
    assert_eq!(spray_closed_port(&mut a, &mut b, &ab, dst, 100, now), 1);
    // A quiet second refills it to the burst, not more.
    now += 10 * SEC;
    assert_eq!(spray_closed_port(&mut a, &mut b, &ab, dst, 100, now), 3);
    assert_eq!(a.stats().icmp_errors_suppressed, 97 + 99 + 97);
    // Queries to port 53 are not affected.
    assert_eq!(a.stats().udp_queries, 1);
}

#[test]
fn icmp_port_unreachable_to_stray_udp_is_rate_limited_ipv4() {
    icmp_errors_are_rate_limited(A4.into());
}

#[test]
fn icmp_port_unreachable_to_stray_udp_is_rate_limited_ipv6() {
    icmp_errors_are_rate_limited(A6.into());
}

#[test]
fn icmp_errors_off_and_one_stray_datagram_with_defaults() {
    for (per_sec, expect) in [(0, 0), (NetLimits::default().icmp_errors_per_sec, 1)] {
        let la = NetLimits {
            icmp_errors_per_sec: per_sec,
            ..NetLimits::default()
        };
        let (ab, ba) = link();
        let mut a = stack(MAC_A, ba.clone(), ab.clone(), &config(A4, A6, la));
        let mut b = stack(MAC_B, ab.clone(), ba, &config(B4, B6, NetLimits::default()));
        b.send_udp(1000, sa(A4, 53), b"warm").unwrap();
        let mut now = SEC;
        let mut ea = Vec::new();
        run_until!(now, SEC, [a, b], drain(&mut a, &mut ea) == 1);
        assert_eq!(
            spray_closed_port(&mut a, &mut b, &ab, A4.into(), 1, now),
            expect
        );
    }
}

#[test]
fn icmp_error_classifier_reads_only_what_is_there() {
    use crate::device::is_icmp_error;
    // Every prefix of a real port-unreachable frame is not one, except the whole.
    let mut v4 = vec![0u8; 14 + 20 + 8];
    v4[12] = 0x08;
    v4[14] = 0x45;
    v4[14 + 9] = 1;
    v4[34] = 3;
    assert!(is_icmp_error(&v4));
    for n in 0..35 {
        assert!(!is_icmp_error(&v4[..n]), "{n}");
    }
    v4[34] = 8; // echo request
    assert!(!is_icmp_error(&v4));
    v4[14] = 0x4f; // IHL 60 bytes, frame too short for the ICMP type
    assert!(!is_icmp_error(&v4));
    let mut v6 = vec![0u8; 14 + 40 + 8];
    v6[12] = 0x86;
    v6[13] = 0xdd;
    v6[14 + 6] = 58;
    v6[54] = 1;
    assert!(is_icmp_error(&v6));
    v6[54] = 135; // neighbour solicitation
    assert!(!is_icmp_error(&v6));
    assert!(!is_icmp_error(&v6[..54]));
}
