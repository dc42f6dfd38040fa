//! One client connection: the handshake (`Hello` with version and token, within a deadline), then
//! three concurrent loops: reading the control stream (frames capped, checked, rate-limited and
//! passed to the bridge), reading datagrams (inputs, acks; floods close the connection), and
//! writing what the tick thread queued in the outbox. Any protocol violation closes this
//! connection alone with its [`ErrorCode`]; nothing a client sends can stop the server.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use quinn::{Connection, RecvStream, SendStream, VarInt};
use tokio::sync::Notify;
use tokio::time::timeout;
use tracing::debug;

use super::NetContext;
use super::bridge::Lifecycle;
use super::limits::{CapGuard, RateLimiter, RequestClass, Verdict, now};
use super::outbox::{ConnectionOutbox, Lane, Pending};
use crate::protocol::framing::{AlignedCopy, FrameError, FrameReader};
use crate::protocol::{
    Encoder, ErrorCode, PROTOCOL_VERSION, ReplyBodyS2c, ReplyS2c, Request, decode_control, decode_datagram,
    error_message,
};
use crate::sim::{ClientId, Command, Refusal, ReplyTo};
use crate::sync::lock;
use crate::telemetry::Metrics;
use crate::telemetry::metrics::MessageKind;

/// Largest read from the control stream at once.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Closes `connection` with `code` and its message, counting it.
fn close(connection: &Connection, code: ErrorCode, metrics: &Metrics) {
    metrics.refused(code.code());
    connection.close(VarInt::from(code.code()), error_message(code.code()).as_bytes());
}

/// Serves one connection from its handshake to its end. Until it is welcomed, a newer connection
/// may push it out (see `ConnectionCaps`): dropped in its handshake, closed as a hello timeout
/// while it owes its `Hello`.
pub(crate) async fn serve(incoming: quinn::Incoming, context: Arc<NetContext>, cap: CapGuard) {
    let waiting = cap.waiting();
    let handshake = async {
        match incoming.accept() {
            Ok(connecting) => connecting.await,
            Err(error) => Err(error),
        }
    };
    let connection = tokio::select! {
        connection = handshake => Some(connection),
        () = waiting.pushed_out() => None,
    };
    context.handshake_done();
    let connection = match connection {
        Some(Ok(connection)) => connection,
        Some(Err(error)) => {
            debug!(%error, "handshake failed");
            return;
        }
        None => {
            debug!("pushed out in its handshake by a newer connection");
            return;
        }
    };
    let remote = connection.remote_address();
    // `admit` awaits nothing once the hello is read, so being pushed out cannot cut it short
    // after it has claimed the player's seat.
    let admitted = tokio::select! {
        admitted = admit(&connection, &context) => admitted,
        () = waiting.pushed_out() => Err(ErrorCode::HelloTimeout),
    };
    match admitted {
        Ok(session) => {
            cap.authenticated();
            let client = session.peer.client;
            context.metrics.connections.add(1);
            let limiter = run(connection, session, &context).await;
            context.metrics.connections.add(-1);
            // Announced before the player is free to connect again, so that the bridge never
            // sees a new connection's arrival before this one's departure.
            context.bridge.announce(Lifecycle::Disconnected { client });
            context.players.release(client, limiter, now());
        }
        Err(code) => {
            debug!(%remote, %code, "connection refused");
            close(&connection, code, &context.metrics);
        }
    }
    drop(cap);
}

/// Who sent what a connection reads: the client, and the connection's number, which the bridge
/// checks so that a closed connection's commands are never run for its successor.
#[derive(Debug, Clone, Copy)]
struct Peer {
    client: ClientId,
    connection: u64,
}

impl Peer {
    fn submit(self, context: &NetContext, request: u32, command: Command) -> Result<(), Refusal> {
        let to = ReplyTo {
            client: self.client,
            request,
        };
        context.bridge.submit(self.connection, to, command)
    }
}

/// An admitted client.
struct Admitted {
    peer: Peer,
    send: SendStream,
    recv: RecvStream,
    reader: FrameReader,
    outbox: Arc<ConnectionOutbox>,
    /// The player's buckets: those its last connection left, refilled since, or full ones.
    limiter: RateLimiter,
}

/// Waits for the control stream and its `Hello`, checks version and token, and announces the
/// player to the tick thread (whose `Welcome` reply completes the handshake).
async fn admit(connection: &Connection, context: &NetContext) -> Result<Admitted, ErrorCode> {
    let deadline = Duration::from_millis(u64::from(context.config.hello_timeout_ms));
    let hello = async {
        let (send, mut recv) = connection
            .accept_bi()
            .await
            .map_err(|_| ErrorCode::HelloTimeout)?;
        let mut reader = FrameReader::new(context.config.max_frame_bytes);
        loop {
            if let Some(frame) = reader.next_frame().map_err(frame_code)? {
                let control = MessageKind::Request(RequestClass::Control);
                context.metrics.received(control, frame.len());
                let (request_id, claims) = hello_claims(frame, context)?;
                return Ok((send, recv, reader, request_id, claims));
            }
            match recv.read_chunk(READ_CHUNK_BYTES, true).await {
                Ok(Some(chunk)) => reader.extend(&chunk.bytes),
                Ok(None) => return Err(ErrorCode::TruncatedFrame),
                Err(_) => return Err(ErrorCode::HelloTimeout),
            }
        }
    };
    let (send, recv, reader, request_id, player) = timeout(deadline, hello)
        .await
        .map_err(|_| ErrorCode::HelloTimeout)??;
    if context.metrics.shedding.get() != 0 {
        return Err(ErrorCode::ServerBusy);
    }
    let client = ClientId(player);
    let limiter = context
        .players
        .claim(client, now())
        .ok_or(ErrorCode::AlreadyConnected)?;
    let connection_number = context.next_connection.fetch_add(1, Ordering::Relaxed);
    let max_datagram = connection.max_datagram_size().unwrap_or(0);
    let outbox = Arc::new(ConnectionOutbox::new(
        context.config.outbox_bytes as usize,
        context.config.outbox_datagrams as usize,
        max_datagram,
        &context.outbox_budget,
    ));
    context.bridge.announce(Lifecycle::Connected {
        to: ReplyTo {
            client,
            request: request_id,
        },
        connection: connection_number,
        outbox: Arc::clone(&outbox),
    });
    Ok(Admitted {
        peer: Peer {
            client,
            connection: connection_number,
        },
        send,
        recv,
        reader,
        outbox,
        limiter,
    })
}

/// The request number and player of a valid `Hello` frame.
fn hello_claims(frame: &[u8], context: &NetContext) -> Result<(u32, u64), ErrorCode> {
    let (request_id, request) = decode_control(frame).map_err(|error| error.code())?;
    let Request::Hello {
        protocol_version,
        token,
    } = request
    else {
        return Err(ErrorCode::HelloExpected);
    };
    if protocol_version != PROTOCOL_VERSION {
        return Err(ErrorCode::VersionMismatch);
    }
    let claims = context
        .tokens
        .verify(token, super::auth::unix_now_s())
        .map_err(|error| ErrorCode::from_code(error.code()).unwrap_or(ErrorCode::TokenMalformed))?;
    Ok((request_id, claims.player))
}

fn frame_code(error: FrameError) -> ErrorCode {
    match error {
        FrameError::TooLarge { .. } => ErrorCode::FrameTooLarge,
        FrameError::Truncated => ErrorCode::TruncatedFrame,
    }
}

/// Runs an admitted connection until it ends; returns its buckets, for the player's next one.
async fn run(connection: Connection, session: Admitted, context: &NetContext) -> RateLimiter {
    let Admitted {
        peer,
        send,
        mut recv,
        mut reader,
        outbox,
        limiter,
    } = session;
    let stop_writing = Arc::new(Notify::new());
    let mut writer = tokio::spawn(write_loop(
        connection.clone(),
        send,
        Arc::clone(&outbox),
        Arc::clone(&stop_writing),
    ));
    // One set of buckets for the connection: an input counts against the same rate whether it
    // comes as a datagram or on the control stream.
    let limiter = Mutex::new(limiter);
    let control = read_control(&mut recv, &mut reader, peer, &outbox, &limiter, context);
    let datagrams = read_datagrams(&connection, peer, &limiter, context);
    let mut writer_ended = false;
    let verdict = tokio::select! {
        code = control => code,
        code = datagrams => code,
        code = outbox.closed() => Some(code),
        code = unexpected_streams(&connection) => Some(code),
        // A client that stopped a stream the server writes can be sent nothing more, and would
        // otherwise stay in the world with its replies and snapshots thrown away.
        stopped = &mut writer => {
            writer_ended = true;
            stopped.ok().flatten().filter(|_| connection.close_reason().is_none())
        }
        _ = connection.closed() => None,
    };
    if let Some(code) = verdict {
        debug!(client = peer.client.0, %code, "closing connection");
        // quinn-proto 0.11.19 holds a close back for as long as sent data fills the congestion
        // window, and after a close it no longer takes the acknowledgements that would empty it:
        // the client would wait for its idle timeout instead of reading the code. So nothing more
        // is sent first, and what is in flight gets a couple of round trips to be acknowledged.
        outbox.close_with(code);
        stop_writing.notify_one();
        if !writer_ended {
            let _ = timeout(CLOSE_DRAIN_MAX, &mut writer).await;
        }
        tokio::time::sleep((connection.rtt() * 4).clamp(CLOSE_DRAIN_MIN, CLOSE_DRAIN_MAX)).await;
        close(&connection, code, &context.metrics);
    }
    writer.abort();
    limiter.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// How long a close waits for what is in flight to be acknowledged: a few round trips, and at
/// least long enough for a busy peer's acknowledgements on a fast path.
const CLOSE_DRAIN_MIN: Duration = Duration::from_millis(50);
const CLOSE_DRAIN_MAX: Duration = Duration::from_millis(250);

/// Reads control frames until one breaks the protocol. A client that ends its side of the stream
/// cleanly sends no more requests but stays connected: the replies it is owed, its events and its
/// snapshots still reach it until it closes the connection.
async fn read_control(
    recv: &mut RecvStream,
    reader: &mut FrameReader,
    peer: Peer,
    outbox: &ConnectionOutbox,
    limiter: &Mutex<RateLimiter>,
    context: &NetContext,
) -> Option<ErrorCode> {
    let mut encoder = Encoder::default();
    loop {
        loop {
            let frame = match reader.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => return Some(frame_code(error)),
            };
            let mut limiter = lock(limiter);
            if let Err(code) = handle_frame(frame, peer, outbox, context, &mut limiter, &mut encoder, now()) {
                return Some(code);
            }
        }
        match recv.read_chunk(READ_CHUNK_BYTES, true).await {
            Ok(Some(chunk)) => reader.extend(&chunk.bytes),
            Ok(None) => match reader.finish() {
                Ok(()) => return std::future::pending().await,
                Err(error) => return Some(frame_code(error)),
            },
            Err(_) => return None,
        }
    }
}

/// Handles one control frame; an error closes the connection.
fn handle_frame(
    frame: &[u8],
    peer: Peer,
    outbox: &ConnectionOutbox,
    context: &NetContext,
    limiter: &mut RateLimiter,
    encoder: &mut Encoder,
    now: Instant,
) -> Result<(), ErrorCode> {
    let (request_id, request) = decode_control(frame).map_err(|error| error.code())?;
    let class = RequestClass::of(&request);
    context.metrics.received(MessageKind::Request(class), frame.len());
    let reply = |body: ReplyBodyS2c, encoder: &mut Encoder| {
        let message = ReplyS2c {
            request_id,
            tick: 0,
            body,
        };
        outbox.push_frames(Lane::Control, |out| {
            // Encoding a reply this small cannot fail; a failure would only lose the reply.
            let _ = encoder.frame_into(&message, out);
        });
    };
    match limiter.judge(class, now) {
        Verdict::Accept => {}
        Verdict::Drop => {
            context.metrics.refused(ErrorCode::RateLimited.code());
            reply(
                ReplyBodyS2c::Refused {
                    code: ErrorCode::RateLimited.code(),
                },
                encoder,
            );
            return Ok(());
        }
        Verdict::Flood => return Err(ErrorCode::Flood),
    }
    match request {
        Request::Hello { .. } => return Err(ErrorCode::HelloExpected),
        Request::Ping { client_time_us } => reply(ReplyBodyS2c::Pong { client_time_us }, encoder),
        Request::Subscribe { topics, session } => {
            context.bridge.announce(Lifecycle::Subscribed {
                client: peer.client,
                topics,
                session,
            });
            reply(ReplyBodyS2c::Subscribed { topics }, encoder);
        }
        Request::Sim(command) => {
            if let Err(refusal) = peer.submit(context, request_id, command) {
                context.metrics.refused(refusal.code());
                reply(ReplyBodyS2c::Refused { code: refusal.code() }, encoder);
            }
        }
    }
    Ok(())
}

/// Reads datagrams until the connection ends or floods.
async fn read_datagrams(
    connection: &Connection,
    peer: Peer,
    limiter: &Mutex<RateLimiter>,
    context: &NetContext,
) -> Option<ErrorCode> {
    let mut aligned = AlignedCopy::default();
    loop {
        let Ok(datagram) = connection.read_datagram().await else {
            return None;
        };
        context.metrics.received(MessageKind::Datagram, datagram.len());
        let verdict = lock(limiter).judge(RequestClass::Input, now());
        match verdict {
            Verdict::Accept => {}
            Verdict::Drop => continue,
            Verdict::Flood => return Some(ErrorCode::Flood),
        }
        let command = match decode_datagram(aligned.of(&datagram)) {
            Ok(command) => command,
            Err(error) => return Some(error.code()),
        };
        // Inputs are unreliable by design: one the full queue cannot take is dropped like a
        // lost datagram.
        let _ = peer.submit(context, 0, command);
    }
}

/// Waits for a stream the protocol does not use; never returns once the connection has ended,
/// which `run` learns from `Connection::closed`.
async fn unexpected_streams(connection: &Connection) -> ErrorCode {
    let opened = tokio::select! {
        stream = connection.accept_bi() => stream.is_ok(),
        stream = connection.accept_uni() => stream.is_ok(),
    };
    if !opened {
        std::future::pending::<()>().await;
    }
    ErrorCode::UnexpectedStream
}

/// Sends whatever the tick thread queued (see [`write_owed`]) until that ends or `stop` is
/// notified; then drops what the streams still hold, so that none of it is sent ahead of a close.
async fn write_loop(
    connection: Connection,
    mut control: SendStream,
    outbox: Arc<ConnectionOutbox>,
    stop: Arc<Notify>,
) -> Option<ErrorCode> {
    let mut events: Option<SendStream> = None;
    let ended = tokio::select! {
        ended = write_owed(&connection, &mut control, &mut events, &outbox) => ended,
        () = stop.notified() => outbox.closing(),
    };
    let code = VarInt::from(ended.map_or(0, ErrorCode::code));
    let _ = control.reset(code);
    if let Some(events) = events.as_mut() {
        let _ = events.reset(code);
    }
    ended
}

/// Sends whatever the tick thread queued: replies on the control stream, pushes on the event
/// stream (opened with the first push into `events`), snapshots as datagrams. Returns the close
/// code when a close is asked for, or `SlowConsumer` when the client stopped reading a stream (or
/// the connection ended, which `run` learns first).
async fn write_owed(
    connection: &Connection,
    control: &mut SendStream,
    events: &mut Option<SendStream>,
    outbox: &ConnectionOutbox,
) -> Option<ErrorCode> {
    let mut pending = Pending::default();
    loop {
        outbox.take(&mut pending).await;
        if let Some(code) = outbox.closing() {
            return Some(code);
        }
        if !pending.control.is_empty() {
            if control.write_all(&pending.control).await.is_err() {
                return Some(ErrorCode::SlowConsumer);
            }
            outbox.sent_frames(pending.control.len());
            pending.control.clear();
        }
        if !pending.events.is_empty() {
            let stream = match events.as_mut() {
                Some(stream) => stream,
                None => match connection.open_uni().await {
                    Ok(stream) => events.insert(stream),
                    Err(_) => return Some(ErrorCode::SlowConsumer),
                },
            };
            if stream.write_all(&pending.events).await.is_err() {
                return Some(ErrorCode::SlowConsumer);
            }
            outbox.sent_frames(pending.events.len());
            pending.events.clear();
        }
        for datagram in pending.datagrams.drain(..) {
            outbox.sent(datagram.len());
            // A datagram the path cannot carry right now is lost, as datagrams may be.
            let _ = connection.send_datagram(datagram);
        }
    }
}
