//! The QUIC door: the quinn endpoint, connection tasks, authentication, rate limits and the bridge
//! that carries checked commands into the tick and encoded replies, events and snapshots back out.
//! With the client SDK, the only code that uses tokio and quinn; the simulation never waits on it.
//!
//! Connection attempts are judged on `Incoming`, before any handshake work: over the per-address
//! cap, or with every place held by a welcomed player, they are refused; with the places (or the
//! share of them for connections not yet authenticated) taken otherwise, a connection still owing
//! its `Hello` makes room (of the host with the most waiting, the one that has waited longest).
//! Once more than `net.retry_above_handshakes` handshakes are in progress, unvalidated addresses
//! must first answer a QUIC retry.

pub mod auth;
mod bridge;
mod connection;
mod durable;
mod limits;
mod outbox;
mod players;
pub mod tls;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use quinn::{Endpoint, ServerConfig, VarInt};
use tracing::{debug, info, warn};

pub use bridge::{BridgeHandle, Lifecycle, NetBridge, WorldFacts, bridge};
pub use durable::DurableGate;
pub use limits::{CapError, RequestClass};
use players::Players;

use crate::config::NetConfig;
use crate::protocol::{ErrorCode, error_message};
use crate::telemetry::Metrics;

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The token secret is missing or unusable.
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    /// The TLS identity or configuration is unusable.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The UDP address cannot be bound.
    #[error("cannot bind UDP {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The network threads could not start.
    #[error("cannot start the network runtime: {0}")]
    Runtime(std::io::Error),
}

/// What every connection task shares.
#[derive(Debug)]
struct NetContext {
    config: NetConfig,
    tokens: auth::TokenKey,
    bridge: BridgeHandle,
    players: Players,
    handshaking: AtomicU32,
    /// The number the next admitted connection gets.
    next_connection: AtomicU64,
    metrics: Arc<Metrics>,
    outbox_budget: Arc<outbox::OutboxBudget>,
}

impl NetContext {
    fn handshake_done(&self) {
        self.handshaking.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The running network side of the server.
#[derive(Debug)]
pub struct NetServer {
    runtime: tokio::runtime::Runtime,
    endpoint: Endpoint,
    local_addr: SocketAddr,
    fingerprint: [u8; 32],
}

impl NetServer {
    /// Loads the TLS identity and token secret, binds `bind` and starts accepting clients, whose
    /// commands arrive through `bridge`; counts into `metrics`. Each network thread runs
    /// `on_thread_start` first.
    pub fn start(
        config: &NetConfig,
        data_dir: &Path,
        bind: SocketAddr,
        bridge: BridgeHandle,
        metrics: Arc<Metrics>,
        on_thread_start: impl Fn() + Send + Sync + 'static,
    ) -> Result<NetServer, NetError> {
        let loopback = bind.ip().is_loopback();
        let (tokens, source) = auth::resolve_secret(config.auth.secret_file.as_deref(), data_dir, loopback)?;
        match &source {
            auth::SecretSource::DevFile { path, generated } => warn!(
                path = %path.display(),
                generated,
                "using the development token secret (loopback only); set NECPSIM_AUTH_SECRET or \
                 net.auth.secret_file in production"
            ),
            other => info!(source = ?other, "token secret loaded"),
        }
        let identity = tls::load_or_generate(
            config.tls.cert_file.as_deref(),
            config.tls.key_file.as_deref(),
            data_dir,
        )?;
        info!(
            source = ?identity.source,
            sha256 = %tls::fingerprint_hex(&identity.fingerprint),
            "TLS certificate"
        );
        let server_config = server_config(config, &identity)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.io_threads as usize)
            .thread_name("net")
            .on_thread_start(on_thread_start)
            .enable_all()
            .build()
            .map_err(NetError::Runtime)?;
        let socket =
            std::net::UdpSocket::bind(bind).map_err(|source| NetError::Bind { addr: bind, source })?;
        let asked = config.udp_receive_buffer_bytes as usize;
        match receive_buffer(&socket, asked) {
            Ok(granted) if granted >= asked => info!(asked, granted, "UDP receive buffer"),
            Ok(granted) => warn!(
                asked,
                granted,
                "the kernel granted a smaller UDP receive buffer than net.udp_receive_buffer_bytes \
                 asks; bursts may be dropped (raise the net.core.rmem_max sysctl)"
            ),
            Err(error) => warn!(%error, asked, "cannot size the UDP receive buffer"),
        }
        let local_addr = socket
            .local_addr()
            .map_err(|source| NetError::Bind { addr: bind, source })?;
        let endpoint = {
            let _entered = runtime.enter();
            Endpoint::new(
                quinn::EndpointConfig::default(),
                Some(server_config),
                socket,
                Arc::new(quinn::TokioRuntime),
            )
            .map_err(|source| NetError::Bind { addr: bind, source })?
        };
        let context = Arc::new(NetContext {
            config: config.clone(),
            tokens,
            bridge,
            players: Players::new(config.rate_limits, config.max_connections as usize),
            handshaking: AtomicU32::new(0),
            next_connection: AtomicU64::new(1),
            outbox_budget: outbox::OutboxBudget::new(
                usize::try_from(config.outbox_total_bytes).unwrap_or(usize::MAX),
                Arc::clone(&metrics),
            ),
            metrics,
        });
        runtime.spawn(accept_loop(endpoint.clone(), context));
        Ok(NetServer {
            runtime,
            endpoint,
            local_addr,
            fingerprint: identity.fingerprint,
        })
    }

    /// The bound UDP address (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// SHA-256 of the server's certificate, for clients to pin.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// Refuses new connections from now on; those already open carry on.
    pub fn stop_accepting(&self) {
        self.endpoint.set_server_config(None);
    }

    /// Closes every connection with the shutdown code and stops the network threads, waiting at
    /// most `grace` for the close to reach clients.
    pub fn shutdown(self, grace: Duration) {
        let code = ErrorCode::Shutdown;
        self.endpoint
            .close(VarInt::from(code.code()), error_message(code.code()).as_bytes());
        let endpoint = self.endpoint.clone();
        let _ = self
            .runtime
            .block_on(async { tokio::time::timeout(grace, endpoint.wait_idle()).await });
        self.runtime.shutdown_timeout(grace);
    }
}

fn server_config(config: &NetConfig, identity: &tls::ServerIdentity) -> Result<ServerConfig, NetError> {
    let crypto = tls::server_crypto(identity)?;
    let mut server = ServerConfig::with_crypto(Arc::new(crypto));
    let limits = &config.transport;
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(VarInt::from(limits.max_bidi_streams))
        .max_concurrent_uni_streams(VarInt::from(limits.max_uni_streams))
        .stream_receive_window(VarInt::from(limits.stream_window_bytes))
        .receive_window(VarInt::from(limits.connection_window_bytes))
        .send_window(u64::from(limits.connection_window_bytes))
        .datagram_receive_buffer_size(Some(limits.datagram_buffer_bytes as usize))
        .datagram_send_buffer_size(limits.datagram_buffer_bytes as usize)
        .keep_alive_interval(Some(Duration::from_millis(u64::from(limits.keep_alive_ms))))
        .max_idle_timeout(Some(quinn::IdleTimeout::from(VarInt::from(
            limits.idle_timeout_ms,
        ))));
    ask_peer_to_acknowledge(
        &mut transport,
        limits.peer_ack_threshold_packets,
        Duration::from_millis(u64::from(limits.peer_max_ack_delay_ms)),
    );
    server.transport_config(Arc::new(transport));
    server.migration(false);
    Ok(server)
}

/// Asks the kernel for a receive buffer of `bytes` on `socket`; returns the size it granted.
fn receive_buffer(socket: &std::net::UdpSocket, bytes: usize) -> std::io::Result<usize> {
    let socket = socket2::SockRef::from(socket);
    socket.set_recv_buffer_size(bytes)?;
    let reported = socket.recv_buffer_size()?;
    // Linux reports twice what it grants, the other half being its own bookkeeping.
    Ok(if cfg!(target_os = "linux") {
        reported / 2
    } else {
        reported
    })
}

/// Asks the peer (QUIC acknowledgement frequency) to acknowledge once more than
/// `threshold_packets` packets have arrived, or after `max_delay`, instead of every other packet.
/// The server and the client SDK both ask it of each other.
pub(crate) fn ask_peer_to_acknowledge(
    transport: &mut quinn::TransportConfig,
    threshold_packets: u32,
    max_delay: Duration,
) {
    let mut acks = quinn::AckFrequencyConfig::default();
    acks.ack_eliciting_threshold(VarInt::from(threshold_packets))
        .max_ack_delay(Some(max_delay));
    transport.ack_frequency_config(Some(acks));
}

/// Judges every connection attempt before its handshake: address validation first, then the
/// caps.
async fn accept_loop(endpoint: Endpoint, context: Arc<NetContext>) {
    let caps = limits::ConnectionCaps::new(
        context.config.max_connections,
        context.config.max_connections_per_ip,
        context.config.max_unauthenticated,
    );
    while let Some(incoming) = endpoint.accept().await {
        let remote = incoming.remote_address();
        let busy = context.handshaking.load(Ordering::Relaxed) >= context.config.retry_above_handshakes;
        // An address that already holds a connection proves itself before it is counted again,
        // so that packets forged with someone's address hold at most one of its places; and
        // one that would push out a waiting connection proves itself first, so that forged
        // packets push out nobody.
        let prove = busy || caps.holds_any(remote.ip()) || caps.crowded();
        if prove && !incoming.remote_address_validated() && incoming.may_retry() {
            // The retry answers statelessly; the validated attempt comes back as a new Incoming.
            let _ = incoming.retry();
            continue;
        }
        let cap = match caps.admit(remote.ip()) {
            Ok(cap) => cap,
            Err(error) => {
                debug!(%remote, %error, "connection refused");
                incoming.refuse();
                continue;
            }
        };
        context.handshaking.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(connection::serve(incoming, Arc::clone(&context), cap));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receive_buffer_grows_to_what_the_kernel_allows() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let asked = 1 << 20;
        let granted = receive_buffer(&socket, asked).expect("sized");
        // Linux caps the request at net.core.rmem_max.
        let cap = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|max| max.trim().parse::<usize>().ok());
        match cap {
            Some(max) => assert_eq!(granted, asked.min(max)),
            None => assert!(granted > 0),
        }
    }
}
