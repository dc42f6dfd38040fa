//! How the server reports on itself. For now: structured logs through `tracing`, human-readable or
//! JSON, filtered by `RUST_LOG`.

mod logging;

pub use logging::{LogFormat, LoggingError, init_logging};
