//! loadgen: a swarm of bots that load a necpsim server over QUIC through the client SDK
//! ([`necpsim::client`]) and report what they measured. A [`Scenario`] says which share of the
//! bots roams, fights, trades or sends pipelined transfers; [`run`] starts them over a ramp, keeps
//! them playing for the run's duration, samples the round trips and the server's `/metrics` once
//! a second, and returns a [`Report`] (JSON as is, HTML through [`html::render`]).
//! [`find_max::find_max`] repeats short runs with more bots until the server's tick leaves its
//! budget. The binary in `main.rs` is the command line around these; the library is what the
//! tests drive. It talks to the server only through its public doors: QUIC, tokens signed with the
//! server's key (a test-rig convenience, see [`options::token_key`]) and HTTP `/metrics`.

mod bots;
mod error;
pub mod find_max;
pub mod html;
pub mod options;
pub mod report;
pub mod scenario;
pub mod scrape;
mod stats;
mod swarm;
mod zipf;

pub use bots::{Plan, Role};
pub use error::LoadgenError;
pub use options::RunOptions;
pub use report::Report;
pub use scenario::Scenario;
pub use stats::Op;
pub use swarm::run;

/// Writes `contents` to `path`.
pub fn write_file(path: &std::path::Path, contents: &str) -> Result<(), LoadgenError> {
    std::fs::write(path, contents).map_err(|source| LoadgenError::Write {
        path: path.to_owned(),
        source,
    })
}
