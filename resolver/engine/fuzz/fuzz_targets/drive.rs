//! The driver both response targets share: each input chunk answers the engine's
//! latest upstream query on the right port from the right server, with the query's ID
//! and exact question (so it passes matching and reaches classification, validation
//! and the cache); the chunk supplies flags, section counts and the record bytes.
//! Every client must be answered exactly once and every timer must end.

use engine::{Engine, Instant, Transmit};
use hickory_proto::op::Message;

pub fn drive(e: &mut Engine, mut now: Instant, mut rest: &[u8], clients: usize) {
    let mut last = None;
    let mut replies = 0;
    for _ in 0..64 {
        while let Some(t) = e.poll_transmit() {
            match t {
                Transmit::ToServer {
                    server,
                    local_port,
                    transport,
                    payload,
                } => last = Some((server, local_port, transport, payload)),
                Transmit::ToClient { .. } => replies += 1,
            }
        }
        let Some((server, port, transport, q)) = last.take() else {
            break;
        };
        // Chunk: [len][flags hi][flags lo][an][ns][ar] records…
        let Some((&len, tail)) = rest.split_first() else {
            break;
        };
        let len = usize::from(len).min(tail.len());
        let (chunk, tail) = tail.split_at(len);
        rest = tail;
        let Ok(qm) = Message::from_vec(&q) else { break };
        let Some(question) = qm.queries.first() else {
            break;
        };
        let mut qbytes = Vec::new();
        {
            let mut enc = hickory_proto::serialize::binary::BinEncoder::new(&mut qbytes);
            use hickory_proto::serialize::binary::BinEncodable;
            if question.emit(&mut enc).is_err() {
                break;
            }
        }
        let get = |i: usize| chunk.get(i).copied().unwrap_or(0);
        let id = qm.id.to_be_bytes();
        let mut resp = vec![id[0], id[1], 0x80 | (get(0) & 0x7f), get(1), 0, 1];
        resp.extend_from_slice(&[0, get(2) % 16, 0, get(3) % 16, 0, get(4) % 16]);
        resp.extend_from_slice(&qbytes);
        resp.extend_from_slice(chunk.get(5..).unwrap_or(&[]));
        if get(0) & 0x80 == 0 {
            e.handle_response(now, server, port, transport, &resp);
        } else {
            // Sometimes the server is unreachable instead, or time passes.
            e.handle_upstream_error(now, server, port, transport);
        }
        assert!(e.check_invariants());
        if let Some(t) = e.poll_timeout() {
            if get(1) & 0x80 != 0 {
                now = now.max(t);
                e.handle_timeout(now);
            }
        }
    }
    for _ in 0..500 {
        while let Some(t) = e.poll_transmit() {
            if let Transmit::ToClient { .. } = t {
                replies += 1;
            }
        }
        let Some(t) = e.poll_timeout() else { break };
        now = now.max(t);
        e.handle_timeout(now);
        assert!(e.check_invariants());
    }
    while let Some(t) = e.poll_transmit() {
        if let Transmit::ToClient { .. } = t {
            replies += 1;
        }
    }
    assert_eq!(e.poll_timeout(), None, "everything ends");
    assert_eq!(replies, clients, "each client answered exactly once");
}
