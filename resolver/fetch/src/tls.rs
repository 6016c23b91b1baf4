//! TLS for `https://` lists: a rustls client (its unbuffered, no_std API) with the
//! RustCrypto provider, verifying the server's certificate for the URL's host against
//! the public roots of `webpki-roots` and any extra CAs the operator gave (`--tls-ca=`).
//!
//! Sans-IO like the rest: [`TlsSession::handle_input`] takes TLS bytes from the stream
//! and hands back plaintext; what rustls wants sent is appended to the caller's buffer.
//! The wall clock (for certificate validity) is an argument, fixed for the session.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use rustls::client::{Resumption, UnbufferedClientConnection};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::time_provider::TimeProvider;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, UnbufferedStatus};
use rustls::{CertificateError, ClientConfig, RootCertStore};

use crate::url::Host;

/// Ciphertext buffered at most: one whole record of the largest size TLS 1.2 allows
/// (2^14 + 2048 bytes of payload and its 5-byte header), and a little more.
pub const INCOMING_CAP: usize = (16 << 10) + 2048 + 5 + 1024;
/// `process_tls_records` rounds per input at most; a correct peer needs a handful.
const MAX_ROUNDS: usize = 4096;

/// Why a TLS session failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsError {
    /// The certificate does not chain to a trusted root (public or `--tls-ca`).
    UnknownIssuer,
    /// The certificate is valid, but not for the URL's host.
    WrongName,
    /// The certificate has expired (by the wall clock given).
    Expired,
    /// The certificate is not valid yet (by the wall clock given: is the clock set?).
    NotYetValid,
    /// Another certificate fault (bad signature, encoding, revoked, …).
    BadCertificate,
    /// The server sent a fatal alert.
    AlertReceived,
    /// The server broke the protocol, or no version or cipher suite in common.
    Protocol,
    /// A record larger than [`INCOMING_CAP`].
    RecordTooLarge,
    /// The host cannot be a TLS server name.
    BadServerName,
    /// rustls refused the configuration (a bug, not the network).
    Config,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsError::UnknownIssuer => "TLS certificate not trusted (unknown issuer)",
            TlsError::WrongName => "TLS certificate is not valid for the host",
            TlsError::Expired => "TLS certificate expired",
            TlsError::NotYetValid => "TLS certificate not valid yet (is the wall clock right?)",
            TlsError::BadCertificate => "TLS certificate invalid",
            TlsError::AlertReceived => "TLS alert from the server",
            TlsError::Protocol => "TLS protocol error",
            TlsError::RecordTooLarge => "TLS record too large",
            TlsError::BadServerName => "host is not a valid TLS server name",
            TlsError::Config => "TLS configuration refused",
        })
    }
}

impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> TlsError {
        match e {
            rustls::Error::InvalidCertificate(c) => match c {
                CertificateError::UnknownIssuer => TlsError::UnknownIssuer,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsError::WrongName,
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    TlsError::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    TlsError::NotYetValid
                }
                _ => TlsError::BadCertificate,
            },
            rustls::Error::AlertReceived(_) => TlsError::AlertReceived,
            _ => TlsError::Protocol,
        }
    }
}

/// Why an extra CA was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaError {
    /// The `n`th CA given (from 0) is neither PEM certificates nor one DER certificate.
    Unreadable(usize),
    /// The `n`th CA given parsed, but is no usable trust anchor.
    NotAnAnchor(usize),
}

impl fmt::Display for CaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaError::Unreadable(n) => write!(f, "CA #{n}: not a PEM or DER certificate"),
            CaError::NotAnAnchor(n) => write!(f, "CA #{n}: not usable as a trust anchor"),
        }
    }
}

/// What every TLS session shares: the trusted roots and the crypto provider.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl TlsConfig {
    /// The public roots (`webpki-roots`) and `extra` CAs, each PEM (one or more
    /// `CERTIFICATE` blocks) or one DER certificate.
    pub fn new(extra: &[&[u8]]) -> Result<TlsConfig, CaError> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        add_cas(&mut roots, extra)?;
        Ok(TlsConfig::with_roots(roots))
    }

    /// Only the `cas` given, no public roots (a private list server; tests).
    pub fn private(cas: &[&[u8]]) -> Result<TlsConfig, CaError> {
        let mut roots = RootCertStore::empty();
        add_cas(&mut roots, cas)?;
        Ok(TlsConfig::with_roots(roots))
    }

    fn with_roots(roots: RootCertStore) -> TlsConfig {
        TlsConfig {
            roots: Arc::new(roots),
            provider: Arc::new(rustls_rustcrypto::provider()),
        }
    }

    /// Trust anchors held.
    pub fn roots(&self) -> usize {
        self.roots.len()
    }
}

fn add_cas(roots: &mut RootCertStore, cas: &[&[u8]]) -> Result<(), CaError> {
    for (i, ca) in cas.iter().enumerate() {
        let certs: Vec<CertificateDer<'static>> = if ca.trim_ascii_start().starts_with(b"-----") {
            let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(ca).collect();
            certs.map_err(|_| CaError::Unreadable(i))?
        } else {
            alloc::vec![CertificateDer::from(ca.to_vec())]
        };
        if certs.is_empty() {
            return Err(CaError::Unreadable(i));
        }
        for c in certs {
            roots.add(c).map_err(|_| CaError::NotAnAnchor(i))?;
        }
    }
    Ok(())
}

/// The wall clock as the caller gave it, fixed for one session (a handshake takes
/// seconds; certificates are valid for months).
#[derive(Debug)]
struct FixedTime(UnixTime);

impl TimeProvider for FixedTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(self.0)
    }
}

/// One TLS client session over one stream.
pub struct TlsSession {
    conn: UnbufferedClientConnection,
    incoming: Vec<u8>,
    /// Plaintext waiting for the handshake to allow application data.
    pending: Vec<u8>,
    peer_closed: bool,
}

impl fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSession")
            .field("incoming", &self.incoming.len())
            .field("pending", &self.pending.len())
            .field("peer_closed", &self.peer_closed)
            .finish()
    }
}

impl TlsSession {
    /// Starts a session with `host` (its SNI and the name the certificate must carry);
    /// `wall_ns` is ns since the Unix epoch. The ClientHello is appended to `out`.
    pub fn new(
        config: &TlsConfig,
        host: &Host,
        wall_ns: u64,
        out: &mut Vec<u8>,
    ) -> Result<TlsSession, TlsError> {
        let time = FixedTime(UnixTime::since_unix_epoch(
            core::time::Duration::from_nanos(wall_ns),
        ));
        let mut cfg = ClientConfig::builder_with_details(config.provider.clone(), Arc::new(time))
            .with_safe_default_protocol_versions()
            .map_err(|_| TlsError::Config)?
            .with_root_certificates(config.roots.clone())
            .with_no_client_auth();
        // One fetch per list and refresh: nothing to resume, nothing to keep.
        cfg.resumption = Resumption::disabled();
        let name = match host {
            Host::Name(n) => {
                ServerName::try_from(n.as_str()).map_err(|_| TlsError::BadServerName)?
            }
            Host::Ip(core::net::IpAddr::V4(a)) => {
                ServerName::from(rustls::pki_types::Ipv4Addr::from(a.octets()))
            }
            Host::Ip(core::net::IpAddr::V6(a)) => {
                ServerName::from(rustls::pki_types::Ipv6Addr::from(a.segments()))
            }
        }
        .to_owned();
        let conn = UnbufferedClientConnection::new(Arc::new(cfg), name)?;
        let mut s = TlsSession {
            conn,
            incoming: Vec::new(),
            pending: Vec::new(),
            peer_closed: false,
        };
        let mut plain = Vec::new();
        s.process(out, &mut plain)?;
        Ok(s)
    }

    /// Queues plaintext (the request); it is encrypted into `out` as soon as the
    /// handshake allows.
    pub fn send(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), TlsError> {
        self.pending.extend_from_slice(data);
        let mut plain = Vec::new();
        self.process(out, &mut plain)
    }

    /// Takes TLS bytes from the stream: consumes at most what fits in the buffer and
    /// returns how many; decrypted data is appended to `plain`, records to send to `out`.
    pub fn handle_input(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
        plain: &mut Vec<u8>,
    ) -> Result<usize, TlsError> {
        let room = INCOMING_CAP.saturating_sub(self.incoming.len());
        let take = room.min(data.len());
        self.incoming
            .extend_from_slice(data.get(..take).unwrap_or_default());
        self.process(out, plain)?;
        if take == 0 && !data.is_empty() {
            // Full, and rustls could not make a record of it.
            return Err(TlsError::RecordTooLarge);
        }
        Ok(take)
    }

    /// The server sent close_notify: what came before it is authentic and whole.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    fn process(&mut self, out: &mut Vec<u8>, plain: &mut Vec<u8>) -> Result<(), TlsError> {
        for _ in 0..MAX_ROUNDS {
            let UnbufferedStatus { mut discard, state } =
                self.conn.process_tls_records(&mut self.incoming);
            let mut again = true;
            match state? {
                ConnectionState::ReadTraffic(mut r) => {
                    while let Some(rec) = r.next_record() {
                        let rec = rec?;
                        discard += rec.discard;
                        plain.extend_from_slice(rec.payload);
                    }
                }
                ConnectionState::EncodeTlsData(mut e) => {
                    write_into(
                        out,
                        |buf| e.encode(buf),
                        |err| match err {
                            EncodeError::InsufficientSize(s) => Some(s.required_size),
                            _ => None,
                        },
                    )?;
                }
                ConnectionState::TransmitTlsData(mut t) => {
                    if !self.pending.is_empty()
                        && let Some(mut w) = t.may_encrypt_app_data()
                    {
                        let pending = core::mem::take(&mut self.pending);
                        write_into(out, |buf| w.encrypt(&pending, buf), encrypt_size)?;
                    }
                    // The bytes are in `out`; the caller sends them.
                    t.done();
                }
                ConnectionState::WriteTraffic(mut w) => {
                    if self.pending.is_empty() {
                        again = false;
                    } else {
                        let pending = core::mem::take(&mut self.pending);
                        write_into(out, |buf| w.encrypt(&pending, buf), encrypt_size)?;
                    }
                }
                ConnectionState::PeerClosed | ConnectionState::Closed => {
                    self.peer_closed = true;
                    again = false;
                }
                // BlockedHandshake: more input is needed; the rest are server-side states.
                _ => again = false,
            }
            let discard = discard.min(self.incoming.len());
            self.incoming.drain(..discard);
            if !again {
                return Ok(());
            }
        }
        Err(TlsError::Protocol)
    }
}

fn encrypt_size(e: &EncryptError) -> Option<usize> {
    match e {
        EncryptError::InsufficientSize(s) => Some(s.required_size),
        _ => None,
    }
}

/// Runs an encoder that writes into a slice, growing `out` once if it says how much it
/// needs.
fn write_into<E: Into<TlsError>>(
    out: &mut Vec<u8>,
    mut f: impl FnMut(&mut [u8]) -> Result<usize, E>,
    needs: impl Fn(&E) -> Option<usize>,
) -> Result<(), TlsError> {
    let used = out.len();
    out.resize(used + 4096, 0);
    let written = match f(out.get_mut(used..).unwrap_or_default()) {
        Ok(n) => n,
        Err(e) => match needs(&e) {
            Some(size) => {
                out.resize(used + size, 0);
                match f(out.get_mut(used..).unwrap_or_default()) {
                    Ok(n) => n,
                    Err(e) => {
                        out.truncate(used);
                        return Err(e.into());
                    }
                }
            }
            None => {
                out.truncate(used);
                return Err(e.into());
            }
        },
    };
    out.truncate(used + written);
    Ok(())
}

impl From<EncodeError> for TlsError {
    fn from(_: EncodeError) -> TlsError {
        TlsError::Protocol
    }
}

impl From<EncryptError> for TlsError {
    fn from(_: EncryptError) -> TlsError {
        TlsError::Protocol
    }
}
