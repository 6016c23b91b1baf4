//! Unit tests of `classify`: referrals, scrubbed answers, negative answers, DNAME.

use super::*;
use hickory_proto::op::{MessageType, OpCode, Query};
use hickory_proto::rr::rdata::{A, CNAME, NS, SOA};

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}
fn resp(q: &str) -> Message {
    let mut m = Message::new(1, MessageType::Response, OpCode::Query);
    m.add_query(Query::query(name(q), RecordType::A));
    m
}
fn a(o: &str) -> Record {
    Record::from_rdata(name(o), 60, RData::A(A::new(192, 0, 2, 1)))
}
fn ns(o: &str, t: &str) -> Record {
    Record::from_rdata(name(o), 60, RData::NS(NS(name(t))))
}

#[test]
fn referral_must_be_below_the_zone_and_above_the_name() {
    let q = name("www.example.com.");
    let mut m = resp("www.example.com.");
    m.authorities.push(ns("example.com.", "ns1.example.com."));
    m.additionals.push(a("ns1.example.com."));
    m.additionals.push(a("www.example.com.")); // not an NS name: not glue
    let c = classify(&name("com."), &q, RecordType::A, &m, &Limits::default());
    let Meaning::Referral {
        zone,
        ns: nsset,
        glue,
        ..
    } = c.meaning
    else {
        panic!("{:?}", c.meaning)
    };
    assert_eq!(zone, name("example.com."));
    assert_eq!((nsset.len(), glue.len(), c.scrubbed), (1, 1, 1));
    // The same referral from example.com's own servers is upward: lame.
    let c = classify(
        &name("example.com."),
        &q,
        RecordType::A,
        &m,
        &Limits::default(),
    );
    assert_eq!(c.meaning, Meaning::Lame);
    // A referral to a zone not containing the name: lame.
    let mut m = resp("www.example.com.");
    m.authorities.push(ns("example.org.", "ns.example.org."));
    assert_eq!(
        classify(&Name::root(), &q, RecordType::A, &m, &Limits::default()).meaning,
        Meaning::Lame
    );
}

#[test]
fn answers_outside_the_chain_or_zone_are_scrubbed() {
    let q = name("www.example.com.");
    let mut m = resp("www.example.com.");
    m.metadata.authoritative = true;
    m.answers.push(Record::from_rdata(
        q.clone(),
        60,
        RData::CNAME(CNAME(name("web.example.com."))),
    ));
    m.answers.push(a("web.example.com."));
    m.answers.push(a("victim.example.net."));
    let c = classify(
        &name("example.com."),
        &q,
        RecordType::A,
        &m,
        &Limits::default(),
    );
    let Meaning::Answer { chain, answer, .. } = c.meaning else {
        panic!()
    };
    assert_eq!((chain.len(), answer.len(), c.scrubbed), (1, 1, 1));
    assert_eq!(c.answer_rank, Rank::AuthAnswer);
    // A CNAME leaving the zone: the out-of-zone target data is not trusted.
    let mut m = resp("www.example.com.");
    m.answers.push(Record::from_rdata(
        q.clone(),
        60,
        RData::CNAME(CNAME(name("www.example.net."))),
    ));
    m.answers.push(a("www.example.net."));
    let c = classify(
        &name("example.com."),
        &q,
        RecordType::A,
        &m,
        &Limits::default(),
    );
    assert!(
        matches!(c.meaning, Meaning::Cname { ref target, .. } if *target == name("www.example.net."))
    );
    assert_eq!(c.scrubbed, 1);
}

#[test]
fn nxdomain_and_nodata_need_an_in_zone_soa() {
    let q = name("nope.example.com.");
    let soa = Record::from_rdata(
        name("example.com."),
        60,
        RData::SOA(SOA::new(name("ns."), name("h."), 1, 1, 1, 1, 30)),
    );
    let mut m = resp("nope.example.com.");
    m.metadata.response_code = ResponseCode::NXDomain;
    m.authorities.push(soa.clone());
    let c = classify(
        &name("example.com."),
        &q,
        RecordType::A,
        &m,
        &Limits::default(),
    );
    assert!(matches!(c.meaning, Meaning::NxDomain { soa: Some(_), .. }));
    // From net.'s servers the example.com. SOA is out of bailiwick: dropped, and an
    // NXDOMAIN about a name outside net. proves nothing.
    let c = classify(&name("net."), &q, RecordType::A, &m, &Limits::default());
    assert_eq!(c.meaning, Meaning::Lame);
    let mut m = resp("nope.example.com.");
    m.authorities.push(soa);
    let c = classify(
        &name("example.com."),
        &q,
        RecordType::A,
        &m,
        &Limits::default(),
    );
    assert!(matches!(c.meaning, Meaning::NoData { soa: Some(_), .. }));
}

#[test]
fn referral_keeps_the_ns_names_it_will_use_and_their_glue() {
    let q = name("www.huge.com.");
    let mut m = resp("www.huge.com.");
    for i in 0..1400 {
        let t = alloc::format!("ns{i:04}.huge.com.");
        m.authorities.push(ns("huge.com.", &t));
        m.additionals.push(a(&t));
    }
    // A repeated NS name counts once; many addresses for one name are capped.
    m.authorities.insert(1, ns("huge.com.", "ns0000.huge.com."));
    for _ in 0..20 {
        m.additionals.insert(0, a("ns0001.huge.com."));
    }
    m.additionals.insert(
        0,
        Record::from_rdata(
            name("ns0001.huge.com."),
            60,
            RData::AAAA(hickory_proto::rr::rdata::AAAA::new(
                0x2001, 0xdb8, 0, 0, 0, 0, 0, 1,
            )),
        ),
    );
    let l = Limits::default();
    let c = classify(&name("com."), &q, RecordType::A, &m, &l);
    let Meaning::Referral {
        ns: nsset, glue, ..
    } = c.meaning
    else {
        panic!("{:?}", c.meaning)
    };
    assert_eq!(nsset.len(), l.max_ns_per_delegation);
    let per = |n: &str| glue.iter().filter(|g| g.name == name(n)).count();
    // Its A records up to the cap, and its AAAA beside them.
    assert_eq!(per("ns0001.huge.com."), l.max_addrs_per_ns + 1);
    assert_eq!(per("ns0002.huge.com."), 1);
    assert_eq!(per("ns0020.huge.com."), 0, "not a kept NS name");
    assert!(
        c.examined <= 3 * l.max_records_per_section,
        "{}",
        c.examined
    );
    assert_eq!(c.scrubbed, 2 * 1400 + 22 - nsset.len() - glue.len());
}

#[test]
fn aa_referral_is_a_referral_and_aa_apex_ns_without_soa_is_lame() {
    let q = name("www.example.com.");
    let mut m = resp("www.example.com.");
    m.metadata.authoritative = true;
    m.authorities.push(ns("example.com.", "ns1.example.com."));
    m.additionals.push(a("ns1.example.com."));
    let l = Limits::default();
    let c = classify(&name("com."), &q, RecordType::A, &m, &l);
    assert!(
        matches!(c.meaning, Meaning::Referral { .. }),
        "{:?}",
        c.meaning
    );
    // At the zone asked (or above it): lame, never a NODATA without proof.
    let c = classify(&name("example.com."), &q, RecordType::A, &m, &l);
    assert_eq!(c.meaning, Meaning::Lame);
    let mut m = resp("www.example.com.");
    m.metadata.authoritative = true;
    m.authorities.push(ns("com.", "a.gtld."));
    let c = classify(&name("example.com."), &q, RecordType::A, &m, &l);
    assert_eq!(c.meaning, Meaning::Lame);
}

#[test]
fn strays_are_dropped_and_the_answer_is_nodata_without_proof() {
    let q = name("www.example.com.");
    let mut m = resp("www.example.com.");
    m.answers.push(Record::from_rdata(
        q.clone(),
        60,
        RData::TXT(hickory_proto::rr::rdata::TXT::new(alloc::vec!["x".into()])),
    ));
    let c = classify(
        &name("example.com."),
        &q,
        RecordType::A,
        &m,
        &Limits::default(),
    );
    assert!(
        matches!(c.meaning, Meaning::NoData { soa: None, .. }),
        "{:?}",
        c.meaning
    );
    assert_eq!(c.scrubbed, 1);
}

#[test]
fn dname_comes_before_its_synthesized_cname() {
    let q = name("www.old.example.com.");
    let mut m = resp("www.old.example.com.");
    m.metadata.authoritative = true;
    let target = name("example.net.");
    let bytes = hickory_proto::serialize::binary::BinEncodable::to_bytes(&target).unwrap();
    m.answers.push(Record::from_rdata(
        name("old.example.com."),
        60,
        RData::Unknown {
            code: RecordType::DNAME,
            rdata: hickory_proto::rr::rdata::NULL::with(bytes),
        },
    ));
    m.answers.push(Record::from_rdata(
        q.clone(),
        60,
        RData::CNAME(CNAME(name("www.example.net."))),
    ));
    let c = classify(
        &name("example.com."),
        &q,
        RecordType::A,
        &m,
        &Limits::default(),
    );
    let Meaning::Cname { chain, target } = c.meaning else {
        panic!("{:?}", c.meaning)
    };
    assert_eq!(target, name("www.example.net."));
    let types: Vec<RecordType> = chain.iter().map(Record::record_type).collect();
    assert_eq!(types, [RecordType::DNAME, RecordType::CNAME]);
    assert_eq!(c.scrubbed, 0);
}

#[test]
fn a_chain_into_the_zone_without_soa_is_chased() {
    let q = name("www.example.com.");
    let mut m = resp("www.example.com.");
    m.metadata.authoritative = true;
    m.answers.push(Record::from_rdata(
        q.clone(),
        60,
        RData::CNAME(CNAME(name("x.cdn.example.com."))),
    ));
    m.authorities
        .push(ns("cdn.example.com.", "ns.cdn.example.com."));
    let c = classify(
        &name("example.com."),
        &q,
        RecordType::A,
        &m,
        &Limits::default(),
    );
    assert!(
        matches!(c.meaning, Meaning::Cname { ref target, .. } if *target == name("x.cdn.example.com.")),
        "{:?}",
        c.meaning
    );
}

#[test]
fn dname_substitution() {
    let n = dname_substitute(
        &name("a.b.old.example."),
        &name("old.example."),
        &name("new.test."),
    );
    assert_eq!(n, Some(name("a.b.new.test.")));
    assert_eq!(
        dname_substitute(&name("old.example."), &name("old.example."), &name("x.")),
        None
    );
}
