//! What can stop a run before it reports ([`LoadgenError`]). Failures during the run (refusals,
//! lost connections) are not errors of the run: they are counted in the report.

use std::path::PathBuf;

use crate::scenario::ScenarioError;

/// Why loadgen could not run or write its report.
#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    /// The scenario is unusable.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The server's assets could not be loaded (to find its token secret).
    #[error("loading the server's assets {path}: {reason}")]
    Assets {
        /// The assets directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The data directory does not exist.
    #[error("the server's data directory {0} does not exist")]
    NoDataDir(PathBuf),
    /// The token secret could not be read.
    #[error("the server's token secret: {0}")]
    Auth(#[from] necpsim::net::auth::AuthError),
    /// A client socket could not be bound.
    #[error("binding a client endpoint on {addr}: {source}")]
    Endpoint {
        /// The address.
        addr: std::net::SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The options contradict each other.
    #[error("invalid options: {0}")]
    Options(String),
    /// A report file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}
