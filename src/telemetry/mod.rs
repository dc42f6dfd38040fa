//! How the server reports on itself and protects itself: structured logs through `tracing`
//! (human-readable or JSON, filtered by `RUST_LOG`), lock-free [`metrics`], the operators' HTTP
//! endpoints ([`http`]: `/metrics`, `/healthz`, `/readyz`) and [`shedding`] of load.

pub mod http;
mod logging;
pub mod metrics;
pub mod shedding;

pub use logging::{LogFormat, LoggingError, TraceGuard, init_logging};
pub use metrics::Metrics;
