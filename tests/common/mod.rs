//! Helpers shared by the integration tests: the bundled assets, editable copies of them, and the
//! real `necpsim` binary run as a child process with its JSON log lines readable.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(
    clippy::disallowed_methods,
    reason = "waiting on a child process needs the wall clock; the rule protects src/sim"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use necpsim::config::Config;

pub mod economy_ops;
pub mod steering;

/// The repository's `assets/` directory.
pub fn bundled_assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
}

/// The bundled assets, loaded.
pub fn load_bundled() -> Config {
    Config::load(&bundled_assets()).expect("bundled assets are valid")
}

/// The bundled assets, loaded and shared.
pub fn bundled_config() -> Arc<Config> {
    Arc::new(load_bundled())
}

/// A temporary copy of the bundled assets that a test may edit.
pub fn assets_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&bundled_assets(), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy file");
        }
    }
}

/// Replaces the first `from` in `dir/relative` with `to`, failing if `from` is absent.
pub fn edit(dir: &Path, relative: &str, from: &str, to: &str) {
    let path = dir.join(relative);
    let text = std::fs::read_to_string(&path).expect("read asset");
    assert!(text.contains(from), "{relative} has no `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write asset");
}

/// The arguments of `serve` for an assets directory, a data directory and a bind address, with the
/// HTTP endpoints on a free port.
pub fn serve_args<'a>(assets: &'a Path, data: &'a Path, bind: &'a str) -> [&'a str; 8] {
    let utf8 = |path: &'a Path| path.to_str().expect("utf-8 path");
    [
        "--assets",
        utf8(assets),
        "--data",
        utf8(data),
        "--bind",
        bind,
        "--http",
        "127.0.0.1:0",
    ]
}

/// Runs `necpsim serve ARGS` to completion (it only ends by itself when it cannot start).
pub fn serve_to_exit(args: [&str; 8]) -> Output {
    necpsim(&[&["serve"][..], &args].concat())
}

/// Runs `necpsim ARGS` to completion.
pub fn necpsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_necpsim"))
        .args(args)
        .output()
        .expect("run necpsim")
}

/// A `necpsim serve --log-format json` child process, killed (SIGKILL) on drop.
pub struct ServerProcess {
    child: Child,
    lines: Receiver<serde_json::Value>,
}

impl ServerProcess {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends the process SIGTERM, as an operator stopping it would.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {}", self.pid());
    }

    /// Waits at most `timeout` for the process to exit; its status, if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Starts `necpsim --log-format json serve ARGS`.
    pub fn start(args: &[&str]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_necpsim"))
            .args(["--log-format", "json", "serve"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn necpsim serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let value =
                    serde_json::from_str(&line).unwrap_or_else(|_| serde_json::Value::String(line.clone()));
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        ServerProcess { child, lines }
    }

    /// Waits up to `timeout` for a JSON log line whose `message` is `message`; panics with the
    /// lines seen otherwise.
    pub fn wait_for(&self, message: &str, timeout: Duration) -> serde_json::Value {
        let mut seen = Vec::new();
        self.look_for(message, timeout, &mut seen)
            .unwrap_or_else(|| panic!("no `{message}` log line within {timeout:?}; saw: {seen:#?}"))
    }

    /// Reads log lines for up to `timeout` until one whose `message` is `message`, keeping the
    /// others in `seen`.
    pub fn look_for(
        &self,
        message: &str,
        timeout: Duration,
        seen: &mut Vec<serde_json::Value>,
    ) -> Option<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line["message"] == message => return Some(line),
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bundled assets with everyone spawning within 3 m of the origin (so that fights need no
/// walking), after `edit`.
pub fn close_quarters(edit: impl FnOnce(&mut Config)) -> Config {
    let mut config = load_bundled();
    config.gameplay.world.spawn.radius_m = 3.0;
    edit(&mut config);
    config
}

/// Steps `sim` with no commands through `seconds` of game time at its tick rate; the rewards its
/// ticks paid.
pub fn play_for(sim: &mut necpsim::sim::Sim, seconds: f32) -> Vec<necpsim::sim::Reward> {
    let ticks = (seconds * sim.tick_rate()).ceil() as usize;
    (0..ticks).flat_map(|_| step_with(sim, &[]).rewards).collect()
}

/// Submits `commands` (by client number) in order, steps once and returns the outputs.
pub fn step_with(
    sim: &mut necpsim::sim::Sim,
    commands: &[(u64, necpsim::sim::Command)],
) -> necpsim::sim::Outbox {
    for (client, command) in commands {
        sim.submit(necpsim::sim::ClientId(*client), command.clone())
            .expect("inbox has room");
    }
    sim.step();
    let mut outbox = necpsim::sim::Outbox::default();
    sim.drain_outputs(&mut outbox);
    outbox
}

/// A tokio runtime for tests that drive clients from synchronous code.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A `necpsim serve` child process on a loopback port with its own assets and data directory,
/// ready for clients: its address, certificate fingerprint (from its log) and tokens (from
/// `necpsim token`, as an operator issues them).
pub struct NetServer {
    /// The running server.
    pub process: ServerProcess,
    /// Its assets (edited by the test before the start).
    pub assets: tempfile::TempDir,
    /// Its data directory.
    pub data: tempfile::TempDir,
    /// The address it serves.
    pub addr: std::net::SocketAddr,
    /// SHA-256 of its certificate.
    pub fingerprint: [u8; 32],
    /// Its HTTP endpoints.
    pub http: std::net::SocketAddr,
}

impl NetServer {
    /// Starts a server on the bundled assets after `edit` changes its copy of them. Load
    /// shedding starts off (debug builds on a busy test machine overrun ticks); a test of it
    /// turns it on.
    pub fn start(edit_assets: impl FnOnce(&Path)) -> NetServer {
        let assets = assets_copy();
        edit(
            assets.path(),
            "server.toml",
            "[shedding]\nenabled = true",
            "[shedding]\nenabled = false",
        );
        edit_assets(assets.path());
        NetServer::start_in(assets, tempfile::tempdir().expect("temp dir"))
    }

    /// Starts a server on `assets` and `data`.
    pub fn start_in(assets: tempfile::TempDir, data: tempfile::TempDir) -> NetServer {
        let process = ServerProcess::start(&serve_args(assets.path(), data.path(), "127.0.0.1:0"));
        let certificate = process.wait_for("TLS certificate", Duration::from_secs(30));
        let hex = certificate["sha256"].as_str().expect("fingerprint logged");
        let mut fingerprint = [0u8; 32];
        for (byte, pair) in fingerprint.iter_mut().zip(hex.as_bytes().chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).expect("ascii"), 16).expect("hex");
        }
        let serving = process.wait_for("serving", Duration::from_secs(30));
        let address = |field: &str| {
            serving[field]
                .as_str()
                .expect("address logged")
                .parse()
                .expect("address")
        };
        NetServer {
            addr: address("udp"),
            http: address("http"),
            process,
            assets,
            data,
            fingerprint,
        }
    }

    /// `GET path` on the HTTP endpoints: the status code and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        NetServer::get_from(self.http, path)
    }

    /// `GET path` from the HTTP endpoints at `http`: the status and the body.
    pub fn get_from(http: std::net::SocketAddr, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(http).expect("http connects");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: necpsim\r\n\r\n").expect("request sent");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response read");
        let status = response
            .split_ascii_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        (status, body.to_owned())
    }

    /// Kills the server with SIGKILL, as a crash would, and hands back its directories.
    pub fn kill(self) -> (tempfile::TempDir, tempfile::TempDir) {
        let NetServer {
            process,
            assets,
            data,
            ..
        } = self;
        drop(process);
        (assets, data)
    }

    /// A token for `player` valid for `ttl` (e.g. `"1h"`), from `necpsim token`.
    pub fn token(&self, player: u64, ttl: &str) -> String {
        let utf8 = |path: &Path| path.to_str().expect("utf-8 path").to_owned();
        let out = necpsim(&[
            "token",
            "--player",
            &player.to_string(),
            "--ttl",
            ttl,
            "--assets",
            &utf8(self.assets.path()),
            "--data",
            &utf8(self.data.path()),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8").trim().to_owned()
    }

    /// Connection options for `player`, pinning the server's certificate.
    pub fn options(&self, player: u64) -> necpsim::client::ConnectOptions {
        necpsim::client::ConnectOptions::new(
            self.addr,
            necpsim::net::tls::ServerTrust::Fingerprint(self.fingerprint),
            self.token(player, "1h"),
        )
    }

    /// A connected, welcomed client for `player`.
    pub async fn connect(&self, player: u64) -> necpsim::client::Client {
        necpsim::client::Client::connect(self.options(player))
            .await
            .expect("connects and is welcomed")
    }
}
