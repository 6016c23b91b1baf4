//! Bad input and bad configuration: garbage frames, rejected NICs and configs, every error as one line.

use super::*;

#[test]
fn garbage_frames_do_not_panic() {
    let (ab, ba) = link();
    let mut a = stack(MAC_A, ba.clone(), ab, &config(A4, A6, NetLimits::default()));
    // xorshift: deterministic noise, with valid-looking Ethernet/IP headers half the time.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..5000 {
        let len = (next() % 1600) as usize;
        let mut f: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if i % 2 == 0 && len > 34 {
            f[..6].copy_from_slice(&MAC_A);
            f[12..14].copy_from_slice(if i % 4 == 0 {
                &[0x08, 0]
            } else {
                &[0x86, 0xdd]
            });
            f[14] = if i % 4 == 0 { 0x45 } else { 0x60 };
        }
        ba.borrow_mut().push_back(f);
        if i % 64 == 0 {
            let _ = a.poll(i * MS);
            while a.next_event().is_some() {}
        }
    }
    // Read the rest, a frame budget at a time.
    for _ in 0..1000 {
        let _ = a.poll(6 * SEC);
        while a.next_event().is_some() {}
        if a.poll_delay(6 * SEC) != Some(0) {
            break;
        }
    }
    assert!(a.stats().frames_in > 4000);
}

#[test]
fn new_rejects_bad_nic_and_config() {
    let (x, y) = link();
    let nic = |mac, mtu| SimNic {
        mac,
        mtu,
        rx: x.clone(),
        tx: y.clone(),
    };
    let cfg = config(A4, A6, NetLimits::default());
    let err = |r: Result<Stack<SimNic>, NewError>| r.err().unwrap();
    assert_eq!(
        err(Stack::new(nic([0xff; 6], MTU), &cfg, 0, 0)),
        NewError::BadMac([0xff; 6])
    );
    assert_eq!(
        err(Stack::new(nic([0x01, 0, 0x5e, 0, 0, 1], MTU), &cfg, 0, 0)),
        NewError::BadMac([0x01, 0, 0x5e, 0, 0, 1])
    );
    assert_eq!(
        err(Stack::new(nic(MAC_A, 0), &cfg, 0, 0)),
        NewError::BadMtu(0)
    );
    assert_eq!(
        err(Stack::new(nic(MAC_A, 100_000), &cfg, 0, 0)),
        NewError::BadMtu(100_000)
    );
    let mut bad = cfg.clone();
    bad.ipv4 = Some((A4, 33));
    assert_eq!(
        err(Stack::new(nic(MAC_A, MTU), &bad, 0, 0)),
        NewError::BadPrefix(33)
    );
    let mut bad = cfg.clone();
    bad.ipv6 = Some((A6, 129));
    assert_eq!(
        err(Stack::new(nic(MAC_A, MTU), &bad, 0, 0)),
        NewError::BadPrefix(129)
    );
    let mut bad = cfg.clone();
    bad.limits.event_queue = 0;
    assert_eq!(
        err(Stack::new(nic(MAC_A, MTU), &bad, 0, 0)),
        NewError::ZeroLimit("event_queue")
    );
    let mut bad = cfg.clone();
    bad.dns_port = 0;
    assert_eq!(
        err(Stack::new(nic(MAC_A, MTU), &bad, 0, 0)),
        NewError::ZeroLimit("dns_port")
    );
    let mut bad = cfg.clone();
    bad.limits.tcp_idle_timeout_ns = 0;
    assert_eq!(
        err(Stack::new(nic(MAC_A, MTU), &bad, 0, 0)),
        NewError::ZeroLimit("tcp_idle_timeout_ns")
    );
    // Zero TCP listeners or upstream sockets is allowed: that service is just off.
    let mut off = cfg;
    off.limits.tcp_clients = 0;
    off.limits.upstream_tcp_sockets = 0;
    off.limits.upstream_udp_sockets = 0;
    assert!(Stack::new(nic(MAC_A, MTU), &off, 0, 0).is_ok());
}

#[test]
fn every_error_displays_as_one_precise_line() {
    let lines: Vec<std::string::String> = [
        NewError::BadMac([1, 0, 0x5e, 0, 0, 1]).to_string(),
        NewError::BadMtu(100).to_string(),
        NewError::BadPrefix(33).to_string(),
        NewError::ZeroLimit("event_queue").to_string(),
    ]
    .into_iter()
    .chain(
        [
            ReplyError::TooLarge,
            ReplyError::BufferFull,
            ReplyError::Unaddressable,
            ReplyError::UnknownConnection,
            ReplyError::QueueFull,
        ]
        .iter()
        .map(|e| e.to_string()),
    )
    .chain(
        [
            SendError::InvalidPort,
            SendError::PortInUse,
            SendError::NoFreeSocket,
            SendError::TooLarge,
            SendError::BufferFull,
            SendError::Unaddressable,
        ]
        .iter()
        .map(|e| e.to_string()),
    )
    .collect();
    for l in &lines {
        assert!(!l.contains('\n') && l.len() > 12, "{l:?}");
    }
    assert_eq!(
        lines[0],
        "the NIC's MAC address 01:00:5e:00:00:01 is not unicast"
    );
    assert_eq!(lines[3], "event_queue is 0 but must be at least 1");
    let mut unique = lines.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), lines.len());
}
