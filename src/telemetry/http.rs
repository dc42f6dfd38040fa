//! The operators' HTTP endpoints on their own port: `GET /metrics` (the Prometheus text
//! exposition), `GET /healthz` (the process is alive) and `GET /readyz` (accepting players: the
//! store is writable, load is not being shed, and the server is not shutting down). A
//! deliberately small HTTP/1.1 server: one request per connection, answered on a thread of its
//! own, a few connections at once, and one deadline for the whole request, so that a slow or
//! silent client delays nobody else and never holds up a shutdown. When every place is taken, the
//! connection that has waited longest for its request head is cut off to make room, so that
//! silent clients cannot keep a probe out.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::sync::lock;
use tracing::debug;

use super::Metrics;

/// How long a client has to send its whole request head (request line and headers).
const REQUEST_DEADLINE: Duration = Duration::from_secs(2);
/// Longest request head read.
const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Connections answered at once; one more cuts off the oldest still sending its head, or is closed
/// unanswered when every one is being answered.
const MAX_CONNECTIONS: usize = 16;
/// Pause after a failed accept (out of file descriptors, say), so that the loop does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Why the server is not ready, if it is not.
pub type Readiness = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// The running HTTP endpoints.
#[derive(Debug)]
pub struct HttpEndpoints {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpEndpoints {
    /// Binds `addr` and serves `metrics` and `ready`, accepting on a thread of its own.
    pub fn start(
        addr: SocketAddr,
        metrics: Arc<Metrics>,
        ready: Readiness,
    ) -> std::io::Result<HttpEndpoints> {
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = thread::Builder::new().name("http".into()).spawn({
            let stop = Arc::clone(&stop);
            move || accept_loop(&listener, &stop, &metrics, &ready)
        })?;
        Ok(HttpEndpoints {
            local_addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for HttpEndpoints {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop so that it sees the flag; connections being answered finish on
        // their own threads within their deadlines.
        let _ = TcpStream::connect_timeout(&self.local_addr, Duration::from_millis(200));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The connections still sending their request head, oldest first, each with its number.
#[derive(Debug, Default)]
struct Waiting {
    streams: VecDeque<(u64, TcpStream)>,
}

impl Waiting {
    /// Connection `number` has sent its head (or given up).
    fn done(waiting: &Mutex<Waiting>, number: u64) {
        lock(waiting).streams.retain(|&(n, _)| n != number);
    }
}

/// One connection being answered; gives its place back when dropped.
struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "the accept loop pauses after a failed accept, off the tick thread"
)]
fn accept_loop(listener: &TcpListener, stop: &AtomicBool, metrics: &Arc<Metrics>, ready: &Readiness) {
    let answering = Arc::new(AtomicUsize::new(0));
    let waiting = Arc::new(Mutex::new(Waiting::default()));
    for (number, stream) in (0u64..).zip(listener.incoming()) {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(error) => {
                debug!(%error, "http accept failed");
                thread::sleep(ACCEPT_RETRY);
                continue;
            }
        };
        if answering.load(Ordering::Acquire) >= MAX_CONNECTIONS {
            // Its thread sees the end of its stream, answers nothing and gives its place back.
            let Some((_, oldest)) = lock(&waiting).streams.pop_front() else {
                debug!("http connection closed unanswered: too many at once");
                continue;
            };
            let _ = oldest.shutdown(Shutdown::Both);
            debug!("http connection cut off for a newer one: too many waiting for their request");
        }
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        lock(&waiting).streams.push_back((number, handle));
        answering.fetch_add(1, Ordering::AcqRel);
        let place = Place(Arc::clone(&answering));
        let (metrics, ready, still_waiting) = (Arc::clone(metrics), Arc::clone(ready), Arc::clone(&waiting));
        let spawned = thread::Builder::new().name("http-request".into()).spawn(move || {
            let _place = place;
            let head = read_head(&stream);
            Waiting::done(&still_waiting, number);
            if let Err(error) = head.and_then(|head| answer(stream, head, &metrics, &ready)) {
                debug!(%error, "http request failed");
            }
        });
        if let Err(error) = spawned {
            Waiting::done(&waiting, number);
            debug!(%error, "http connection closed unanswered: no thread");
        }
    }
}

/// Reads the request head, up to its blank line, within [`REQUEST_DEADLINE`] in all; `None` when
/// it is longer than [`MAX_HEAD_BYTES`], an error when the stream ends before the blank line.
#[expect(
    clippy::disallowed_methods,
    reason = "a request's deadline is on the wall clock, off the tick thread"
)]
fn read_head(stream: &TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    // The blank line may come with more after it (a body, a pipelined request), which is not read.
    // Only what the last read added can complete it, with up to three bytes before.
    let ends = |bytes: &[u8]| {
        bytes.windows(2).any(|pair| pair == b"\n\n") || bytes.windows(4).any(|four| four == b"\r\n\r\n")
    };
    let mut scanned: usize = 0;
    while !ends(&head[scanned.saturating_sub(3)..]) {
        scanned = head.len();
        if head.len() >= MAX_HEAD_BYTES {
            return Ok(None);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        let room = chunk.len().min(MAX_HEAD_BYTES - head.len());
        let read = (&*stream).read(&mut chunk[..room])?;
        if read == 0 {
            // The client gave up, or was cut off for a newer one: there is nobody to answer.
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&chunk[..read]);
    }
    Ok(Some(head))
}

/// Answers the request whose head (`None`: too long) was read from `stream`.
fn answer(
    stream: TcpStream,
    head: Option<Vec<u8>>,
    metrics: &Metrics,
    ready: &Readiness,
) -> std::io::Result<()> {
    stream.set_write_timeout(Some(REQUEST_DEADLINE))?;
    let line = head.as_deref().map(|head| {
        let end = head.iter().position(|&byte| byte == b'\n').unwrap_or(head.len());
        String::from_utf8_lossy(&head[..end]).into_owned()
    });
    let mut parts = line.as_deref().unwrap_or("").split_ascii_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, content_type, body) = match (line.is_some(), method, path) {
        (false, _, _) => (
            "431 Request Header Fields Too Large",
            "text/plain",
            "request head too large\n".to_owned(),
        ),
        (true, "GET", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        (true, "GET", "/healthz") => ("200 OK", "text/plain", "ok\n".to_owned()),
        (true, "GET", "/readyz") => match ready() {
            Ok(()) => ("200 OK", "text/plain", "ready\n".to_owned()),
            Err(reason) => (
                "503 Service Unavailable",
                "text/plain",
                format!("not ready: {reason}\n"),
            ),
        },
        (true, "GET", _) => ("404 Not Found", "text/plain", "not found\n".to_owned()),
        (true, _, _) => ("405 Method Not Allowed", "text/plain", "only GET\n".to_owned()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()?;
    stream.shutdown(Shutdown::Write)
}
