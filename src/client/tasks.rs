//! The connection's shared state ([`Shared`]) and its background tasks: one writer that sends
//! every control frame queued since its last write in one `write_all`, one reader per incoming
//! stream that decodes every frame a read delivered, and a datagram reader. The first failure
//! anywhere is recorded, handed to every waiting request, and closes the connection; the queues
//! the client reads from then end.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quinn::{Connection, ReadError, RecvStream, SendStream, VarInt};
use tokio::sync::{Notify, mpsc, oneshot};

use super::ClientError;
use super::pending::{Pending, PendingReply};
use crate::protocol::framing::{AlignedCopy, FrameReader};
use crate::protocol::{
    ControlC2s, DatagramC2s, DecodeError, Encoder, EventS2c, PushS2c, ReplyS2c, RequestC2s, SnapshotS2c,
    read_owned,
};
use crate::sync::lock;

/// Events held for the caller before the event stream stops being read (and the server's flow
/// control holds further events back).
pub(super) const EVENT_QUEUE: usize = 1024;
/// Snapshot payloads held for the caller; beyond this the newest is dropped, since the next
/// snapshot supersedes it anyway.
const SNAPSHOT_QUEUE: usize = 32;
/// Unsolicited replies held for the caller; beyond this they are only counted.
const UNSOLICITED_QUEUE: usize = 256;
/// Control-stream bytes queued for the writer at most.
const MAX_QUEUED_BYTES: usize = 16 << 20;
/// How long the server may take to close the connection after ending or resetting a stream.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What the client's handle and its tasks share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) connection: Connection,
    pending: Mutex<Pending>,
    outbox: Mutex<Outbox>,
    /// Wakes the writer; a wake-up with nobody waiting is kept, so none is lost.
    queued: Notify,
    unsolicited: AtomicU64,
    clock: Mutex<ServerClock>,
}

/// The client's reckoning of the server's tick: a tick it knew of, when, and the rate since.
#[derive(Debug, Clone, Copy)]
pub(super) struct ServerClock {
    tick: u64,
    at: tokio::time::Instant,
    rate_hz: f32,
}

impl ServerClock {
    /// The server's tick now, reckoned at the rate in force since the last known tick.
    pub(super) fn now(&self) -> u64 {
        let ticks = self.at.elapsed().as_secs_f64() * f64::from(self.rate_hz);
        self.tick.saturating_add(ticks as u64)
    }
}

/// Control-stream bytes waiting for the writer, and the encoder that frames them.
#[derive(Debug, Default)]
struct Outbox {
    encoder: Encoder,
    queued: Vec<u8>,
}

/// The receiving ends of what the tasks deliver to the caller.
#[derive(Debug)]
pub(super) struct Deliveries {
    /// Events from the event stream.
    pub(super) events: mpsc::Receiver<EventS2c>,
    /// Snapshot payloads, from datagrams and the event stream alike.
    pub(super) snapshots: mpsc::Receiver<Vec<u8>>,
    /// Replies no request awaits.
    pub(super) unsolicited: mpsc::Receiver<ReplyS2c>,
}

/// Spawns the tasks of `connection` on the current tokio runtime, with `control` its open control
/// stream.
pub(super) fn start(
    connection: Connection,
    control: (SendStream, RecvStream),
    max_frame_bytes: u32,
) -> (Arc<Shared>, Deliveries) {
    let shared = Arc::new(Shared {
        connection,
        pending: Mutex::default(),
        outbox: Mutex::default(),
        queued: Notify::new(),
        unsolicited: AtomicU64::new(0),
        clock: Mutex::new(ServerClock {
            tick: 0,
            at: tokio::time::Instant::now(),
            rate_hz: 0.0,
        }),
    });
    let (events_in, events) = mpsc::channel(EVENT_QUEUE);
    let (snapshots_in, snapshots) = mpsc::channel(SNAPSHOT_QUEUE);
    let (unsolicited_in, unsolicited) = mpsc::channel(UNSOLICITED_QUEUE);
    let (send, recv) = control;
    tokio::spawn(write_control(shared.clone(), send));
    tokio::spawn(read_replies(
        shared.clone(),
        recv,
        max_frame_bytes,
        unsolicited_in,
    ));
    tokio::spawn(read_pushes(
        shared.clone(),
        max_frame_bytes,
        events_in,
        snapshots_in.clone(),
    ));
    tokio::spawn(read_datagrams(shared.clone(), snapshots_in));
    let deliveries = Deliveries {
        events,
        snapshots,
        unsolicited,
    };
    (shared, deliveries)
}

impl Shared {
    /// The server is at `tick` now, and ticks at `rate_hz` from here on. The welcome and the
    /// clock events come on different streams, which may overtake each other: news older than
    /// what the clock already knows is ignored.
    pub(super) fn set_clock(&self, tick: u64, rate_hz: f32) {
        let mut clock = lock(&self.clock);
        if tick >= clock.tick {
            *clock = ServerClock {
                tick,
                at: tokio::time::Instant::now(),
                rate_hz,
            };
        }
    }

    /// The client's reckoning of the server's tick.
    pub(super) fn server_tick(&self) -> u64 {
        lock(&self.clock).now()
    }

    /// Registers `body` under a fresh request number and queues it for the writer.
    pub(super) fn submit(&self, body: RequestC2s) -> Result<PendingReply, ClientError> {
        if let Some(failure) = self.failure() {
            return Err(failure);
        }
        self.room_to_queue()?;
        let (waiter, reply) = oneshot::channel();
        // Registered before it is queued, so the reply cannot overtake the registration.
        let request_id = lock(&self.pending).register(waiter)?;
        let framed = {
            let mut outbox = lock(&self.outbox);
            let Outbox { encoder, queued } = &mut *outbox;
            encoder.frame_into(&ControlC2s { request_id, body }, queued)
        };
        if let Err(error) = framed {
            lock(&self.pending).forget(request_id);
            return Err(error.into());
        }
        self.queued.notify_one();
        Ok(PendingReply::new(request_id, reply))
    }

    /// Queues `bytes` on the control stream as they are.
    pub(super) fn submit_raw(&self, bytes: &[u8]) -> Result<(), ClientError> {
        if let Some(failure) = self.failure() {
            return Err(failure);
        }
        self.room_to_queue()?;
        lock(&self.outbox).queued.extend_from_slice(bytes);
        self.queued.notify_one();
        Ok(())
    }

    /// Refuses to queue more while what is queued already fills [`MAX_QUEUED_BYTES`] (a server
    /// that stopped reading, a caller that sends faster than the path carries).
    fn room_to_queue(&self) -> Result<(), ClientError> {
        if lock(&self.outbox).queued.len() >= MAX_QUEUED_BYTES {
            return Err(ClientError::Backlog);
        }
        Ok(())
    }

    /// Sends `message` as one datagram.
    pub(super) fn send_datagram(&self, message: &DatagramC2s) -> Result<(), ClientError> {
        let bytes = lock(&self.outbox).encoder.encode(message)?.to_vec();
        Ok(self.connection.send_datagram(bytes.into())?)
    }

    /// Why the connection failed, once it has.
    pub(super) fn failure(&self) -> Option<ClientError> {
        lock(&self.pending).failure().cloned()
    }

    /// Replies delivered to nobody so far.
    pub(super) fn unsolicited_count(&self) -> u64 {
        self.unsolicited.load(Ordering::Relaxed)
    }

    /// The server's close, if it comes within [`CLOSE_GRACE`]; `otherwise` when none does.
    async fn close_code_or(&self, otherwise: ClientError) -> ClientError {
        match tokio::time::timeout(CLOSE_GRACE, self.connection.closed()).await {
            Ok(lost) => lost.into(),
            Err(_) => otherwise,
        }
    }

    /// Records `error` as the connection's failure unless one is already recorded, answers every
    /// waiting request with it, and closes the connection (a no-op if it is already closed).
    fn fail(&self, error: ClientError) {
        if lock(&self.pending).fail(&error) {
            // Nothing queued will be sent any more.
            lock(&self.outbox).queued = Vec::new();
            let code = VarInt::from(error.close_code());
            self.connection.close(code, error.to_string().as_bytes());
        }
    }
}

/// Writes whatever is queued, one `write_all` per wake-up, until the connection ends.
async fn write_control(shared: Arc<Shared>, mut stream: SendStream) {
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            () = shared.queued.notified() => {}
            _ = shared.connection.closed() => return,
        }
        std::mem::swap(&mut lock(&shared.outbox).queued, &mut batch);
        if let Err(error) = stream.write_all(&batch).await {
            shared.fail(error.into());
            return;
        }
        batch.clear();
    }
}

/// Routes each reply to its request (or to the unsolicited queue) until the control stream ends.
async fn read_replies(
    shared: Arc<Shared>,
    stream: RecvStream,
    max_frame_bytes: u32,
    unsolicited: mpsc::Sender<ReplyS2c>,
) {
    let read = async {
        let mut replies = Incoming::new(stream, max_frame_bytes, read_owned::<ReplyS2c>);
        while let Some(reply) = replies.next().await? {
            let stray = lock(&shared.pending).answer(reply);
            if let Some(reply) = stray {
                shared.unsolicited.fetch_add(1, Ordering::Relaxed);
                // A full queue means the caller does not read it; the count still has the reply.
                let _ = unsolicited.try_send(reply);
            }
        }
        Ok(())
    };
    // The server ends or resets the control stream only as it closes the connection.
    let error = match read.await {
        Err(error @ ClientError::Read(ReadError::Reset(_))) => shared.close_code_or(error).await,
        Err(error) => error,
        Ok(()) => {
            let ended = ClientError::Protocol("the server ended the control stream".into());
            shared.close_code_or(ended).await
        }
    };
    shared.fail(error);
}

/// Accepts the server's event stream and delivers its events and snapshots until it ends.
async fn read_pushes(
    shared: Arc<Shared>,
    max_frame_bytes: u32,
    events: mpsc::Sender<EventS2c>,
    snapshots: mpsc::Sender<Vec<u8>>,
) {
    let read = async {
        let stream = shared.connection.accept_uni().await?;
        let mut pushes = Incoming::new(stream, max_frame_bytes, read_owned::<PushS2c>);
        while let Some(push) = pushes.next().await? {
            match push {
                PushS2c::Event(
                    event @ EventS2c::ClockChanged {
                        tick_rate_hz,
                        from_tick,
                    },
                ) => {
                    // Sent with the outputs of tick `from_tick`.
                    shared.set_clock(from_tick, tick_rate_hz);
                    // Every client gets it, and a caller that reads no events must not stall the
                    // stream (snapshots too large for a datagram come on it too).
                    let _ = events.try_send(event);
                }
                // Waits while the caller's queue is full (a closed queue means the client is gone),
                // but not past the connection's end: the snapshot queue this task feeds must end
                // with it.
                PushS2c::Event(event) => {
                    tokio::select! {
                        // An event with room for it is delivered even as the connection ends.
                        biased;
                        _ = events.send(event) => {}
                        lost = shared.connection.closed() => return Err(ClientError::from(lost)),
                    }
                }
                PushS2c::Snapshot(snapshot) => queue_snapshot(&snapshots, snapshot.payload),
            }
        }
        Ok::<_, ClientError>(())
    };
    // The server resets the event stream only as it closes the connection.
    let error = match read.await {
        Ok(()) => return,
        Err(error @ ClientError::Read(ReadError::Reset(_))) => shared.close_code_or(error).await,
        Err(error) => error,
    };
    shared.fail(error);
}

/// Delivers each snapshot datagram until the connection ends.
async fn read_datagrams(shared: Arc<Shared>, snapshots: mpsc::Sender<Vec<u8>>) {
    let mut aligned = AlignedCopy::default();
    let error = loop {
        let datagram = match shared.connection.read_datagram().await {
            Ok(datagram) => datagram,
            Err(lost) => break ClientError::from(lost),
        };
        match read_owned::<SnapshotS2c>(aligned.of(&datagram)) {
            Ok(snapshot) => queue_snapshot(&snapshots, snapshot.payload),
            Err(error) => break error.into(),
        }
    };
    shared.fail(error);
}

/// Queues a snapshot payload for the caller, dropping it if the queue is full or gone.
fn queue_snapshot(queue: &mpsc::Sender<Vec<u8>>, payload: Vec<u8>) {
    let _ = queue.try_send(payload);
}

/// The messages of one stream from the server: every frame a read delivered is decoded at once,
/// then handed out in order.
struct Incoming<T> {
    stream: RecvStream,
    frames: FrameReader,
    decode: fn(&[u8]) -> Result<T, DecodeError>,
    decoded: VecDeque<T>,
}

impl<T> Incoming<T> {
    fn new(stream: RecvStream, max_frame_bytes: u32, decode: fn(&[u8]) -> Result<T, DecodeError>) -> Self {
        Incoming {
            stream,
            frames: FrameReader::new(max_frame_bytes),
            decode,
            decoded: VecDeque::new(),
        }
    }

    /// The next message; `None` once the stream has ended on a frame boundary.
    async fn next(&mut self) -> Result<Option<T>, ClientError> {
        while self.decoded.is_empty() {
            let Some(chunk) = self.stream.read_chunk(usize::MAX, true).await? else {
                self.frames.finish()?;
                return Ok(None);
            };
            self.frames.extend(&chunk.bytes);
            decode_frames(&mut self.frames, self.decode, &mut self.decoded)?;
        }
        Ok(self.decoded.pop_front())
    }
}

/// Decodes every complete frame `frames` holds into `out`, stopping at the first bad one.
fn decode_frames<T>(
    frames: &mut FrameReader,
    decode: fn(&[u8]) -> Result<T, DecodeError>,
    out: &mut VecDeque<T>,
) -> Result<(), ClientError> {
    while let Some(frame) = frames.next_frame()? {
        out.push_back(decode(frame)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{EventS2c, ReplyBodyS2c};

    fn framed(messages: &[PushS2c]) -> Vec<u8> {
        let mut encoder = Encoder::default();
        let mut out = Vec::new();
        for message in messages {
            encoder.frame_into(message, &mut out).expect("encodes");
        }
        out
    }

    #[test]
    fn every_frame_a_read_delivered_is_decoded_in_order() {
        let pushes = [
            PushS2c::Event(EventS2c::PlayerJoined { player: 7, net_id: 3 }),
            PushS2c::Snapshot(SnapshotS2c {
                payload: vec![1, 2, 3],
            }),
        ];
        let bytes = framed(&pushes);
        let mut frames = FrameReader::new(1024);
        let mut out = VecDeque::new();
        // Half a stream, then the rest: frames complete only once their last byte arrived.
        frames.extend(&bytes[..bytes.len() - 1]);
        decode_frames(&mut frames, read_owned::<PushS2c>, &mut out).expect("valid");
        assert_eq!(out, &pushes[..1]);
        frames.extend(&bytes[bytes.len() - 1..]);
        decode_frames(&mut frames, read_owned::<PushS2c>, &mut out).expect("valid");
        assert_eq!(out, pushes);
    }

    #[test]
    fn hostile_frames_are_errors_not_panics() {
        const MAX: u32 = 256;
        let mut out = VecDeque::<ReplyS2c>::new();
        let mut frames = FrameReader::new(MAX);
        frames.extend(&(MAX + 1).to_le_bytes());
        let too_large = decode_frames(&mut frames, read_owned::<ReplyS2c>, &mut out);
        assert!(matches!(too_large, Err(ClientError::Frame(_))), "{too_large:?}");

        let reply = ReplyS2c {
            request_id: 1,
            tick: 2,
            body: ReplyBodyS2c::Left,
        };
        let mut valid = Vec::new();
        Encoder::default()
            .frame_into(&reply, &mut valid)
            .expect("encodes");
        for flip in 4..valid.len() {
            let mut damaged = valid.clone();
            damaged[flip] ^= 0xa5;
            let mut frames = FrameReader::new(MAX);
            frames.extend(&damaged);
            out.clear();
            // Some bytes (padding, the tick) may change and still be a valid reply.
            match decode_frames(&mut frames, read_owned::<ReplyS2c>, &mut out) {
                Ok(()) => assert_eq!(out.len(), 1, "byte {flip}"),
                Err(error) => assert!(
                    matches!(error, ClientError::Decode(DecodeError::Malformed)),
                    "{error:?}"
                ),
            }
        }
        let mut frames = FrameReader::new(MAX);
        frames.extend(&valid);
        out.clear();
        decode_frames(&mut frames, read_owned::<ReplyS2c>, &mut out).expect("valid");
        assert_eq!(out, [reply]);
    }
}
