//! The operators' HTTP endpoints on their own port and thread: `GET /metrics` (the Prometheus
//! text exposition), `GET /healthz` (the process is alive) and `GET /readyz` (accepting players:
//! the store is writable and load is not being shed). A deliberately small HTTP/1.1 server: one
//! request per connection, a read deadline, and nothing else to attack.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tracing::debug;

use super::Metrics;

/// How long a client has to send its request line.
const READ_DEADLINE: Duration = Duration::from_secs(2);
/// Longest request line read.
const MAX_LINE_BYTES: u64 = 1024;

/// Why the server is not ready, if it is not.
pub type Readiness = Box<dyn Fn() -> Result<(), String> + Send + Sync>;

/// The running HTTP endpoints.
#[derive(Debug)]
pub struct HttpEndpoints {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpEndpoints {
    /// Binds `addr` and serves `metrics` and `ready` from a thread of its own.
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
            move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Acquire) {
                        return;
                    }
                    if let Ok(stream) = stream
                        && let Err(error) = answer(stream, &metrics, &ready)
                    {
                        debug!(%error, "http request failed");
                    }
                }
            }
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
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.local_addr, Duration::from_millis(200));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(stream: TcpStream, metrics: &Metrics, ready: &Readiness) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_DEADLINE))?;
    stream.set_write_timeout(Some(READ_DEADLINE))?;
    let mut line = String::new();
    BufReader::new((&stream).take(MAX_LINE_BYTES)).read_line(&mut line)?;
    let mut parts = line.split_ascii_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        ("GET", "/healthz") => ("200 OK", "text/plain", "ok\n".to_owned()),
        ("GET", "/readyz") => match ready() {
            Ok(()) => ("200 OK", "text/plain", "ready\n".to_owned()),
            Err(reason) => (
                "503 Service Unavailable",
                "text/plain",
                format!("not ready: {reason}\n"),
            ),
        },
        ("GET", _) => ("404 Not Found", "text/plain", "not found\n".to_owned()),
        _ => ("405 Method Not Allowed", "text/plain", "only GET\n".to_owned()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}
