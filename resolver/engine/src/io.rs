//! What goes in and out of the engine besides time: who asked ([`Client`]) and what to
//! send ([`Transmit`]).

use alloc::vec::Vec;
use core::net::SocketAddr;

pub use common::Transport;

/// A client that sent us a query: echoed back on the answer's [`Transmit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Client {
    /// The client's address and port.
    pub addr: SocketAddr,
    /// How the query came in (and how the answer must leave).
    pub transport: Transport,
}

/// Something for the app to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// An answer to a client, on the transport it asked on.
    ToClient {
        /// Who asked (address and transport, as given to [`Engine::handle_query`](crate::Engine::handle_query)).
        client: Client,
        /// The DNS message (no TCP length prefix; the netstack frames it).
        payload: Vec<u8>,
    },
    /// A query to an upstream server.
    ToServer {
        /// The server's address and port.
        server: SocketAddr,
        /// The local port to send from, picked at random by the engine among ports it
        /// does not use already. The response must be given back with this port.
        local_port: u16,
        /// UDP, or TCP after a truncated UDP answer (`conn` is 0: the netstack owns
        /// upstream connections).
        transport: Transport,
        /// The DNS message (no TCP length prefix).
        payload: Vec<u8>,
    },
}
