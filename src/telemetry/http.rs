//! The operators' HTTP endpoints on their own port: `GET /metrics` (the Prometheus text
//! exposition), `GET /healthz` (the process is alive) and `GET /readyz` (accepting players: the
//! store is writable, load is not being shed, and the server is not shutting down). A
//! deliberately small HTTP/1.1 server: one request per connection, answered on a thread of its
//! own, a few connections at once, and one deadline for the whole request, so that a slow or
//! silent client delays nobody else and never holds up a shutdown.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tracing::debug;

use super::Metrics;

/// How long a client has to send its whole request head (request line and headers).
const REQUEST_DEADLINE: Duration = Duration::from_secs(2);
/// Longest request head read.
const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Connections answered at once; one more is closed unanswered.
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
    for stream in listener.incoming() {
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
        if answering.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
            answering.fetch_sub(1, Ordering::AcqRel);
            debug!("http connection closed unanswered: too many at once");
            continue;
        }
        let place = Place(Arc::clone(&answering));
        let (metrics, ready) = (Arc::clone(metrics), Arc::clone(ready));
        let spawned = thread::Builder::new().name("http-request".into()).spawn(move || {
            let _place = place;
            if let Err(error) = answer(stream, &metrics, &ready) {
                debug!(%error, "http request failed");
            }
        });
        if let Err(error) = spawned {
            debug!(%error, "http connection closed unanswered: no thread");
        }
    }
}

/// Reads the request head, up to its blank line, within [`REQUEST_DEADLINE`] in all; `None` when
/// it is longer than [`MAX_HEAD_BYTES`].
#[expect(
    clippy::disallowed_methods,
    reason = "a request's deadline is on the wall clock, off the tick thread"
)]
fn read_head(stream: &TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
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
            break;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    Ok(Some(head))
}

fn answer(stream: TcpStream, metrics: &Metrics, ready: &Readiness) -> std::io::Result<()> {
    stream.set_write_timeout(Some(REQUEST_DEADLINE))?;
    let head = read_head(&stream)?;
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
