//! A connection to a necpsim server ([`Client`]): connecting and saying hello, pipelined requests
//! on the control stream, inputs and snapshot acknowledgements as datagrams, and the server's
//! events and snapshots as they arrive. Also the raw doors through which tests send a server bytes
//! no well-behaved client would. The work happens in the tasks of [`super::tasks`]; this is the
//! handle callers hold.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use quinn::VarInt;
use tokio::sync::{Mutex as AsyncMutex, mpsc};

use super::acks::AckRider;
use super::error::accepted;
use super::tasks::{self, Deliveries, Shared};
use super::{ClientError, PendingReply, ReceiveError, SnapshotReceiver};
use crate::net;
use crate::net::tls::{self, ServerTrust};
use crate::protocol::{
    DatagramC2s, EventS2c, HelloC2s, InputC2s, PROTOCOL_VERSION, PingC2s, ReplyBodyS2c, ReplyS2c, RequestC2s,
    SnapshotAckC2s, WelcomeS2c,
};
use crate::sim::snapshot_codec::{EntityState, SnapshotHeader};

/// The default largest frame accepted from the server. A reply can be large under a valid
/// configuration (an inventory of 10,000 slots, 10,000 kept candles, a session's log of 4,096
/// entries) and is bounded by the server's `net.outbox_bytes` (1 MiB by default); this allows
/// sixteen times that, and still refuses the length prefix of a broken server before buffering.
pub const DEFAULT_MAX_FRAME_BYTES: u32 = 16 * 1024 * 1024;
/// The default for [`ConnectOptions::welcome_timeout`]: the server's own `Hello` deadline is 5 s
/// by default, and a loaded server may take a few ticks more to welcome.
pub const DEFAULT_WELCOME_TIMEOUT: Duration = Duration::from_secs(10);
/// A keep-alive this often keeps an idle connection (and NAT mappings) open.
const KEEP_ALIVE: Duration = Duration::from_secs(3);
/// Without a packet from the server for this long, the connection is lost.
const IDLE_TIMEOUT_MS: u32 = 10_000;
/// Packets the server is asked to receive before it must acknowledge (QUIC acknowledgement
/// frequency). Inputs and snapshot acknowledgements need no per-packet acknowledgement, and each
/// acknowledgement-only packet costs the server a send and the client a decryption.
const ACK_THRESHOLD_PACKETS: u32 = 10;
/// The longest the server is asked to hold back an acknowledgement.
const MAX_ACK_DELAY: Duration = Duration::from_millis(50);

/// Where and how to connect.
#[derive(Clone)]
pub struct ConnectOptions {
    /// The server's UDP address.
    pub server: SocketAddr,
    /// The name the server's certificate must carry (checked with [`ServerTrust::Roots`] only).
    pub server_name: String,
    /// How the server's certificate is trusted.
    pub trust: ServerTrust,
    /// The session token sent in `Hello`.
    pub token: String,
    /// Frames from the server above this size close the connection.
    pub max_frame_bytes: u32,
    /// The longest [`Client::connect`] waits for the handshake and the server's `Welcome`
    /// together: a server that completes the handshake and then says nothing would otherwise be
    /// waited for forever, since keep-alives stop the idle timeout.
    pub welcome_timeout: Duration,
    /// An endpoint to connect from, so that many clients share one socket (load tools); `None`
    /// binds a new one on an ephemeral port of the server's address family.
    pub endpoint: Option<quinn::Endpoint>,
}

impl ConnectOptions {
    /// Options for `server` with the name `localhost`, the default frame cap and a new endpoint.
    pub fn new(server: SocketAddr, trust: ServerTrust, token: impl Into<String>) -> ConnectOptions {
        ConnectOptions {
            server,
            server_name: "localhost".into(),
            trust,
            token: token.into(),
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            welcome_timeout: DEFAULT_WELCOME_TIMEOUT,
            endpoint: None,
        }
    }
}

impl fmt::Debug for ConnectOptions {
    /// Leaves the token out: it is a credential, and options end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("server", &self.server)
            .field("server_name", &self.server_name)
            .field("trust", &self.trust)
            .field("max_frame_bytes", &self.max_frame_bytes)
            .field("welcome_timeout", &self.welcome_timeout)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// One decoded snapshot: the full state it describes, whatever baseline it was a delta against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Its sequence number, baseline and tick.
    pub header: SnapshotHeader,
    /// Every entity in view, sorted by id.
    pub states: Vec<EntityState>,
}

/// A connected, welcomed client. Clones share the connection, so requests from many tasks are
/// pipelined on its one control stream; each event, snapshot or unsolicited reply goes to one
/// caller of the matching `next_…` method. The connection closes when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
    welcome: WelcomeS2c,
}

/// What the clones of a client share.
#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    endpoint: quinn::Endpoint,
    events: AsyncMutex<mpsc::Receiver<EventS2c>>,
    unsolicited: AsyncMutex<mpsc::Receiver<ReplyS2c>>,
    snapshots: AsyncMutex<Follower>,
    acks: AckRider,
}

/// Snapshot payloads as they arrive, and the decoded snapshots deltas are decoded against.
#[derive(Debug)]
struct Follower {
    payloads: mpsc::Receiver<Vec<u8>>,
    receiver: SnapshotReceiver,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The tasks hold the connection too; without this they would keep it alive unused.
        self.shared
            .connection
            .close(VarInt::from_u32(0), b"client dropped");
    }
}

impl Client {
    /// Connects to the server, opens the control stream and says `Hello`; returns once the server
    /// has answered with `Welcome`. A refused hello ends as [`ClientError::Closed`] with the
    /// server's code (e.g. 1002 for a forged token), no welcome within
    /// [`ConnectOptions::welcome_timeout`] as [`ClientError::WelcomeTimeout`]. The connection's
    /// tasks run on the current tokio runtime.
    pub async fn connect(options: ConnectOptions) -> Result<Client, ClientError> {
        let deadline = options.welcome_timeout;
        tokio::time::timeout(deadline, Self::connect_and_hello(options))
            .await
            .map_err(|_| ClientError::WelcomeTimeout(deadline))?
    }

    async fn connect_and_hello(options: ConnectOptions) -> Result<Client, ClientError> {
        let ConnectOptions {
            server,
            server_name,
            trust,
            token,
            max_frame_bytes,
            welcome_timeout: _,
            endpoint,
        } = options;
        let endpoint = match endpoint {
            Some(endpoint) => endpoint,
            None => quinn::Endpoint::client(unspecified_like(server))?,
        };
        let mut config = quinn::ClientConfig::new(Arc::new(tls::client_crypto(trust)?));
        let mut transport = quinn::TransportConfig::default();
        transport
            .keep_alive_interval(Some(KEEP_ALIVE))
            .max_idle_timeout(Some(VarInt::from_u32(IDLE_TIMEOUT_MS).into()));
        net::ask_peer_to_acknowledge(&mut transport, ACK_THRESHOLD_PACKETS, MAX_ACK_DELAY);
        config.transport_config(Arc::new(transport));
        let connection = endpoint.connect_with(config, server, &server_name)?.await?;
        let control = connection.open_bi().await?;
        let (shared, deliveries) = tasks::start(connection, control, max_frame_bytes);
        let Deliveries {
            events,
            snapshots,
            unsolicited,
        } = deliveries;
        let inner = Arc::new(Inner {
            shared,
            endpoint,
            events: AsyncMutex::new(events),
            unsolicited: AsyncMutex::new(unsolicited),
            snapshots: AsyncMutex::new(Follower {
                payloads: snapshots,
                receiver: SnapshotReceiver::default(),
            }),
            acks: AckRider::default(),
        });
        let hello = RequestC2s::Hello(HelloC2s {
            protocol_version: PROTOCOL_VERSION,
            token,
        });
        let reply = inner.shared.submit(hello)?.await?;
        match accepted(reply.body)? {
            ReplyBodyS2c::Welcome(welcome) => {
                inner.shared.set_clock(welcome.server_tick, welcome.tick_rate_hz);
                Ok(Client { inner, welcome })
            }
            other => Err(ClientError::unexpected("Welcome", &other)),
        }
    }

    /// The server's welcome: the player, its id in snapshots, the tick rate.
    pub fn welcome(&self) -> &WelcomeS2c {
        &self.welcome
    }

    /// The client's reckoning of the server's tick now: from the welcome's tick at its rate, and
    /// from every `ClockChanged` event (the event also reaches
    /// [`Client::next_event`]). The `client_tick` of an input numbered by it keeps a steady lead
    /// over the server's clock, which the server's time-compression check expects.
    pub fn server_tick(&self) -> u64 {
        self.inner.shared.server_tick()
    }

    /// Sends `body` and waits for its reply; a refusal is [`ClientError::Refused`]. Any number of
    /// requests may be in flight at once, from any number of tasks.
    pub async fn request(&self, body: RequestC2s) -> Result<ReplyBodyS2c, ClientError> {
        accepted(self.send(body)?.await?.body)
    }

    /// Queues `body` without waiting for its reply, which the returned [`PendingReply`] yields
    /// with its tick. Frames queued together go out in one write, so a loop of `send` followed by
    /// awaiting the replies pipelines a burst of requests.
    pub fn send(&self, body: RequestC2s) -> Result<PendingReply, ClientError> {
        self.inner.shared.submit(body)
    }

    /// Measures a round trip on the control stream (the server answers pings without waiting
    /// for a tick), including the time queued behind other requests.
    #[expect(
        clippy::disallowed_methods,
        reason = "a round trip is measured on the wall clock; the client is no simulation"
    )]
    pub async fn ping(&self) -> Result<Duration, ClientError> {
        let sent = Instant::now();
        match self
            .request(RequestC2s::Ping(PingC2s { client_time_us: 0 }))
            .await?
        {
            ReplyBodyS2c::Pong { .. } => Ok(sent.elapsed()),
            other => Err(ClientError::unexpected("Pong", &other)),
        }
    }

    /// Sends a movement input as a datagram, which may be lost; a refused input is answered on
    /// the control stream as an unsolicited reply. Unless `input.ack` names a snapshot already,
    /// the input carries the acknowledgement of the newest snapshot [`Client::next_snapshot`]
    /// decoded since the last input (see there).
    #[expect(
        clippy::disallowed_methods,
        reason = "whether inputs flow is judged on the wall clock; the client is no simulation"
    )]
    pub fn send_input(&self, mut input: InputC2s) -> Result<(), ClientError> {
        let riding = self.inner.acks.on_input(Instant::now());
        if input.ack == 0 {
            input.ack = riding;
        }
        self.inner.shared.send_datagram(&DatagramC2s::Input(input))
    }

    /// Tells the server, by datagram, that snapshot `seq` is held, so later snapshots may be
    /// deltas against it. [`Client::next_snapshot`] does this for every snapshot it decodes.
    pub fn ack_snapshot(&self, seq: u32) -> Result<(), ClientError> {
        self.inner
            .shared
            .send_datagram(&DatagramC2s::AckSnapshot(SnapshotAckC2s { seq }))
    }

    /// The next event from the server's event stream; `None` once that stream has ended. Events
    /// wait here unread up to a bound; beyond it the server is held back by flow control (and
    /// may close a client that never reads with code 1030, slow consumer).
    pub async fn next_event(&self) -> Option<EventS2c> {
        self.inner.events.lock().await.recv().await
    }

    /// The next snapshot, from a datagram or the event stream, in arrival order (datagrams may be
    /// reordered; compare `header.seq`), decoded against the baseline it names and acknowledged:
    /// by the next [`Client::send_input`] while inputs flow (one sent within the last 50 ms), by a
    /// datagram of its own otherwise. `None` once the connection has ended. Snapshots not read in
    /// time are dropped, which only means later ones are deltas against an older baseline.
    #[expect(
        clippy::disallowed_methods,
        reason = "whether inputs flow is judged on the wall clock; the client is no simulation"
    )]
    pub async fn next_snapshot(&self) -> Option<Result<Snapshot, ReceiveError>> {
        let mut follower = self.inner.snapshots.lock().await;
        let Follower { payloads, receiver } = &mut *follower;
        let payload = payloads.recv().await?;
        Some(receiver.receive(&payload).map(|(header, states)| {
            // A lost acknowledgement is like one the network dropped: the server keeps sending
            // deltas against an older baseline, which the receiver still holds.
            if self.inner.acks.on_snapshot(header.seq, Instant::now()) {
                let _ = self.ack_snapshot(header.seq);
            }
            Snapshot {
                header,
                states: states.to_vec(),
            }
        }))
    }

    /// The next reply no request awaits: the server's unsolicited refusals (request number 0,
    /// e.g. of a movement input), replies to frames sent with [`Client::send_raw_control`], and
    /// replies whose [`PendingReply`] was dropped. `None` once the control stream has ended.
    pub async fn next_unsolicited(&self) -> Option<ReplyS2c> {
        self.inner.unsolicited.lock().await.recv().await
    }

    /// How many replies no request awaited, including those dropped because
    /// [`Client::next_unsolicited`] was not called often enough.
    pub fn unsolicited_count(&self) -> u64 {
        self.inner.shared.unsolicited_count()
    }

    /// Closes the connection with code 0. Requests still waiting fail; frames not yet written are
    /// discarded. To be sure the close reaches the server before the process exits, await
    /// [`quinn::Endpoint::wait_idle`] on [`Client::endpoint`].
    pub fn close(&self) {
        self.inner
            .shared
            .connection
            .close(VarInt::from_u32(0), b"closed by the client");
    }

    /// Why the connection ended, once it has: [`ClientError::Closed`] with the server's code if
    /// the server closed it, the client's own error if it closed it over bad server bytes.
    pub fn close_reason(&self) -> Option<ClientError> {
        let shared = &self.inner.shared;
        shared
            .failure()
            .or_else(|| shared.connection.close_reason().map(ClientError::from))
    }

    /// Waits until the connection has ended and says why (see [`Client::close_reason`]).
    pub async fn closed(&self) -> ClientError {
        let lost = self.inner.shared.connection.closed().await;
        self.inner.shared.failure().unwrap_or_else(|| lost.into())
    }

    /// For testing servers: queues `bytes` on the control stream as they are, in order with the
    /// frames of requests. Replies to well-formed frames arrive through
    /// [`Client::next_unsolicited`].
    pub fn send_raw_control(&self, bytes: &[u8]) -> Result<(), ClientError> {
        self.inner.shared.submit_raw(bytes)
    }

    /// For testing servers: sends `bytes` as one datagram, as they are.
    pub fn send_raw_datagram(&self, bytes: &[u8]) -> Result<(), ClientError> {
        Ok(self
            .inner
            .shared
            .connection
            .send_datagram(bytes.to_vec().into())?)
    }

    /// The QUIC connection, for testing servers (e.g. opening a stream the protocol does not use)
    /// and for statistics such as [`quinn::Connection::rtt`].
    pub fn connection(&self) -> &quinn::Connection {
        &self.inner.shared.connection
    }

    /// The endpoint the connection runs on.
    pub fn endpoint(&self) -> &quinn::Endpoint {
        &self.inner.endpoint
    }
}

/// The unspecified address (port 0) of `server`'s family.
fn unspecified_like(server: SocketAddr) -> SocketAddr {
    let ip = match server {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}
