//! Log output setup: one `tracing` subscriber writing to stderr, pretty or JSON, with `RUST_LOG`
//! honoured (default `info`).

use std::path::Path;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line, for log shippers and tests.
    Json,
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// `RUST_LOG` is set but is not a valid filter.
    #[error("RUST_LOG is not a valid filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::FromEnvError),
    /// A global subscriber was already installed.
    #[error("logging was already initialised")]
    AlreadySet,
    /// The trace file could not be created.
    #[error("cannot create the trace file {path}: {source}")]
    TraceFile {
        /// The file asked for.
        path: std::path::PathBuf,
        /// Why it could not be created.
        source: std::io::Error,
    },
}

/// Keeps the Chrome trace being written; the file is completed when this is dropped.
#[derive(Default)]
pub struct TraceGuard(Option<tracing_chrome::FlushGuard>);

impl std::fmt::Debug for TraceGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TraceGuard").field(&self.0.is_some()).finish()
    }
}

/// Installs the global subscriber: log lines on stderr filtered by `RUST_LOG`, and, with
/// `trace_file`, every span (the tick's phases; each system's too when built with the `trace`
/// feature) written to that file in the Chrome trace format (open it in `chrome://tracing` or
/// Perfetto).
pub fn init_logging(format: LogFormat, trace_file: Option<&Path>) -> Result<TraceGuard, LoggingError> {
    let filter = match std::env::var_os(EnvFilter::DEFAULT_ENV) {
        Some(_) => EnvFilter::try_from_default_env()?,
        None => EnvFilter::new("info"),
    };
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let lines = match format {
        LogFormat::Pretty => lines.boxed(),
        LogFormat::Json => lines.json().flatten_event(true).boxed(),
    };
    let (chrome, guard) = match trace_file {
        Some(path) => {
            // Created here, where a failure is an error: the builder's own `file` panics on one.
            let file = std::fs::File::create(path).map_err(|source| LoggingError::TraceFile {
                path: path.to_owned(),
                source,
            })?;
            let (layer, guard) = tracing_chrome::ChromeLayerBuilder::new()
                .writer(std::io::BufWriter::new(file))
                .include_args(true)
                .build();
            (Some(layer.with_filter(LevelFilter::INFO)), Some(guard))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(chrome)
        .try_init()
        .map_err(|_| LoggingError::AlreadySet)?;
    Ok(TraceGuard(guard))
}
