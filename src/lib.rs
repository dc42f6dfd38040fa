//! necpsim: an authoritative game simulation server.
//!
//! Data crosses each boundary once, in one direction per path:
//!
//! ```text
//! assets/*.toml ──▶ config   (load, validate, hot reload)  ──Arc<Config>──▶ sim
//! clients ──QUIC──▶ net (checked frames) ──bridge──▶ server::TickLoop ──Sim::submit──▶ sim
//!          ◀──────── net (encoded once) ◀──bridge── Outbox ◀── (bevy_ecs, no IO, no clock)
//!                          ▲ acknowledgements after commit      │ one batch per tick
//!                          └──────────── store (writer thread, SQLite) ◀┘
//! ```
//!
//! - [`config`]: the typed form of every designer file, with errors that name file, line and key.
//! - [`sim`]: the deterministic world, advanced one tick at a time in the phases
//!   Input → Gameplay → Combat → Economy → Output.
//! - [`protocol`]: the wire messages (rkyv) named by direction, framing, checked decoding into sim
//!   commands, encoding of the sim's outputs, error codes.
//! - [`net`]: the QUIC server (quinn): caps and retry before handshakes, tokens, TLS, rate
//!   limits, and the bridge between connection tasks and the tick thread.
//! - [`server`]: the process around the sim: the fixed-rate tick thread with catch-up and drop
//!   accounting, the asset watcher, the data directory lock and the network.
//! - [`store`]: durability: the economy's journal and queryable tables in SQLite, group commit on
//!   a writer thread, recovery by replaying the journal, offline checks.
//! - [`telemetry`]: logs, lock-free metrics, the `/metrics`, `/healthz` and `/readyz` endpoints,
//!   load shedding.
//! - [`client`]: the Rust client SDK over QUIC (requests, events, snapshots).
//! - [`bench`]: `necpsim bench`, the real schedule driven by simulated bots, timed per tick.

#[expect(
    clippy::disallowed_methods,
    reason = "the headless bench times each tick with the wall clock, outside the simulation"
)]
pub mod bench;
pub mod client;
pub mod config;
pub mod net;
pub mod protocol;
pub mod server;
pub mod sim;
pub mod store;
pub mod sync;
pub mod telemetry;
