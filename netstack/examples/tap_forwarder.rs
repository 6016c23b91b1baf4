//! A toy DNS forwarder on a Linux TAP device: interop check of the stack against the
//! Linux TCP/IP stack (ARP, NDP, ping, UDP and TCP on port 53, upstream UDP and TCP).
//!
//! Every query is sent on unchanged to `UPSTREAM` over the transport it came in on, and
//! the answer goes back to the client. No DNS is parsed: this is about the netstack.
//!
//! ```text
//! ip tuntap add tap-ns mode tap && ip link set tap-ns up
//! ip addr add 10.77.0.1/24 dev tap-ns && ip addr add fd77::1/64 dev tap-ns
//! cargo run -p netstack --example tap_forwarder -- tap-ns 10.77.0.1:5300 [SECONDS [dhcp]]
//! dig @10.77.0.2 example.org; dig +tcp @fd77::2 example.org; ping 10.77.0.2
//! ```
//!
//! The stack is 10.77.0.2/24 (or what DHCP gives it) and fd77::2/64
//! (MAC 02:00:00:77:00:02).

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant as StdInstant};

use netstack::{Event, NetConfig, Nic, Stack, Transport};
use smoltcp::phy::{self, Device, Medium, RxToken, TunTapInterface, TxToken};
use smoltcp::time::Instant;

struct TapNic(TunTapInterface);

impl Nic for TapNic {
    fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        let (rx, _) = self.0.receive(Instant::now())?;
        rx.consume(|f| {
            let dst = buf.get_mut(..f.len())?;
            dst.copy_from_slice(f);
            Some(f.len())
        })
        .or(Some(0))
    }
    fn send(&mut self, frame: &[u8]) {
        if let Some(tx) = self.0.transmit(Instant::now()) {
            tx.consume(frame.len(), |b| b.copy_from_slice(frame));
        }
    }
    fn mac(&self) -> [u8; 6] {
        [0x02, 0, 0, 0x77, 0, 0x02]
    }
    fn mtu(&self) -> usize {
        1500
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(tap), Some(upstream)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: tap_forwarder TAP UPSTREAM_ADDR:PORT [SECONDS [dhcp]]");
        std::process::exit(2);
    };
    let upstream: SocketAddr = upstream.parse().expect("upstream address");
    let run_for = Duration::from_secs(args.get(3).and_then(|s| s.parse().ok()).unwrap_or(60));
    let dev = TunTapInterface::new(tap, Medium::Ethernet).expect("open tap");
    let fd = dev.as_raw_fd();
    let config = NetConfig {
        ipv4: Some((Ipv4Addr::new(10, 77, 0, 2), 24)),
        ipv4_gateway: Some(Ipv4Addr::new(10, 77, 0, 1)),
        ipv6: Some(("fd77::2".parse::<Ipv6Addr>().unwrap(), 64)),
        dhcp: args.get(4).is_some_and(|a| a == "dhcp"),
        ..NetConfig::default()
    };
    let start = StdInstant::now();
    let now = || start.elapsed().as_nanos() as u64;
    let mut stack = Stack::new(TapNic(dev), &config, std::process::id().into(), now()).unwrap();
    for (ip, len) in stack.addresses() {
        eprintln!("address {ip}/{len}");
    }
    let mut waiting: HashMap<u16, (SocketAddr, Transport)> = HashMap::new();
    let mut next_port = 40000u16;
    while start.elapsed() < run_for {
        let _ = stack.poll(now());
        while let Some(ev) = stack.next_event() {
            match ev {
                Event::Query {
                    client,
                    transport,
                    data,
                } => {
                    next_port = if next_port >= 60000 {
                        40000
                    } else {
                        next_port + 1
                    };
                    let r = match transport {
                        Transport::Udp => stack.send_udp(next_port, upstream, &data),
                        Transport::Tcp { .. } => stack.send_tcp(next_port, upstream, &data),
                    };
                    eprintln!("query from {client} {transport:?} -> port {next_port}: {r:?}");
                    if r.is_ok() {
                        waiting.insert(next_port, (client, transport));
                    }
                }
                Event::Response {
                    from,
                    local_port,
                    tcp,
                    data,
                } => {
                    if !tcp {
                        stack.close_udp(local_port);
                    }
                    if let Some((client, transport)) = waiting.remove(&local_port) {
                        let r = stack.reply(client, transport, &data);
                        eprintln!("response from {from} on {local_port} -> {client}: {r:?}");
                    }
                }
                other => {
                    eprintln!("{other:?}");
                    if let Event::UpstreamError { local_port, .. } = other {
                        waiting.remove(&local_port);
                    }
                }
            }
        }
        let _ = stack.poll(now());
        let delay = stack
            .poll_delay(now())
            .map(|ns| smoltcp::time::Duration::from_micros(ns / 1000));
        // Wake for a frame or the deadline, but at least every 100 ms to see the clock.
        let cap = smoltcp::time::Duration::from_millis(100);
        phy::wait(fd, Some(delay.map_or(cap, |d| d.min(cap)))).expect("wait");
    }
    eprintln!("{:#?}", stack.stats());
}
