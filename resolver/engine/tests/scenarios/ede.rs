//! RFC 8914 Extended DNS Errors: each way a resolution fails names its own cause.

use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};

use crate::sim::*;
use engine::{EngineConfig, Limits};

/// The EXTRA-TEXT of the EDE option, if any.
fn extra_text(m: &Message) -> Option<String> {
    match m.edns.as_ref()?.option(EdnsCode::Unknown(15))? {
        EdnsOption::Unknown(_, d) => Some(String::from_utf8_lossy(&d[2..]).into_owned()),
        _ => None,
    }
}

#[test]
fn every_server_lame_is_not_authoritative() {
    let mut net = Net::new(EngineConfig {
        serve_stale: None,
        ..recursive_config()
    });
    net.server(NS1_EXAMPLE).behavior = Behavior::Rcode(ResponseCode::ServFail);
    net.server(NS2_EXAMPLE).behavior = Behavior::Rcode(ResponseCode::Refused);
    let r = net.ask("www.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(20));
}

#[test]
fn every_server_unreachable_is_a_network_error() {
    let mut net = Net::new(EngineConfig {
        serve_stale: None,
        ..recursive_config()
    });
    net.server(NS1_EXAMPLE).behavior = Behavior::Drop;
    net.server(NS2_EXAMPLE).behavior = Behavior::Drop;
    net.send_from(
        client(),
        &query_bytes(1, "www.example.com.", RecordType::A, Some(1232)),
    );
    while !net
        .log
        .last()
        .unwrap()
        .server
        .ip()
        .to_string()
        .starts_with("192.0.2.5")
    {
        assert!(net.step());
    }
    // Every query to example.com's servers fails to connect at once.
    for _ in 0..10 {
        let s = net.log.last().unwrap().clone();
        let n = net.log.len();
        net.engine
            .handle_upstream_error(net.now, s.server, s.local_port, engine::Transport::Udp);
        net.advance(Duration::ZERO);
        if net.log.len() == n {
            break;
        }
    }
    let (_, bytes) = net.replies.last().expect("an answer").clone();
    let r = Message::from_vec(&bytes).unwrap();
    assert_eq!(r.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&r), Some(23));
}

#[test]
fn limits_say_which_limit() {
    let limited = |limits| {
        Net::new(EngineConfig {
            limits,
            ..recursive_config()
        })
    };
    let r = limited(Limits {
        max_cname_chain: 0,
        ..Limits::default()
    })
    .ask("alias.example.com.", RecordType::A);
    assert_eq!(
        (ede(&r), extra_text(&r).as_deref()),
        (Some(0), Some("CNAME chain too long"))
    );
    let r = limited(Limits {
        max_referrals: 1,
        ..Limits::default()
    })
    .ask("www.example.com.", RecordType::A);
    assert_eq!(
        (ede(&r), extra_text(&r).as_deref()),
        (Some(0), Some("delegation loop"))
    );
    let r = limited(Limits {
        max_upstream_per_query: 2,
        ..Limits::default()
    })
    .ask("www.example.com.", RecordType::A);
    assert_eq!(
        (ede(&r), extra_text(&r).as_deref()),
        (Some(0), Some("upstream query budget exhausted"))
    );
}

#[test]
fn rfc8767_stale_nxdomain_has_its_own_code() {
    let mut net = Net::new(EngineConfig {
        prefetch: false,
        // Serve-stale is off by default, as at boot.
        serve_stale: Some(Duration::from_secs(86_400)),
        ..recursive_config()
    });
    let r = net.ask("nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    net.advance(Duration::from_secs(400)); // past the negative TTL (300 s)
    net.server(NS1_EXAMPLE).behavior = Behavior::Drop;
    net.server(NS2_EXAMPLE).behavior = Behavior::Drop;
    let r = net.ask("nope.example.com.", RecordType::A);
    assert_eq!(r.response_code, ResponseCode::NXDomain);
    assert_eq!(ede(&r), Some(19));
    assert_eq!(net.engine.stats().stale_served, 1);
}
