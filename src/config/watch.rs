//! Hot reload: watches the assets directory, waits for a burst of edits to settle, reloads the whole
//! [`Config`] and hands the outcome to whoever drives the simulation, which applies it at a tick
//! boundary. A refused edit leaves the running configuration untouched.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::Duration;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tracing::warn;

use super::{Config, ConfigErrors};

/// Quiet time after the last file event before the directory is reloaded, so that an editor's
/// truncate-then-write or a `git checkout` of several files is seen as one edit.
const SETTLE: Duration = Duration::from_millis(150);

/// What a reload produced.
#[derive(Debug)]
pub enum ReloadOutcome {
    /// The edited files are valid and differ from the running configuration.
    Applied(Arc<Config>),
    /// The edit was refused; the running configuration stays in force.
    Refused(ConfigErrors),
}

/// Why the watcher could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The operating system refused to watch the directory.
    #[error("cannot watch {dir}: {source}")]
    Notify {
        /// The assets directory.
        dir: String,
        /// What the file watcher reported.
        source: notify::Error,
    },
    /// The reload thread could not be started.
    #[error("cannot start the reload thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Watches an assets directory for as long as it lives.
#[derive(Debug)]
pub struct AssetWatcher {
    _watcher: RecommendedWatcher,
    outcomes: Receiver<ReloadOutcome>,
}

impl AssetWatcher {
    /// Starts watching `dir`; `running` is the configuration in force, so that edits which change
    /// nothing are not reported.
    pub fn start(dir: &Path, running: Arc<Config>) -> Result<AssetWatcher, WatchError> {
        let notify_error = |source| WatchError::Notify {
            dir: dir.display().to_string(),
            source,
        };
        let (event_tx, event_rx) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let relevant = match event {
                Ok(event) => {
                    !matches!(event.kind, EventKind::Access(_))
                        && event.paths.iter().any(|p| may_hold_assets(p))
                }
                Err(error) => {
                    warn!(%error, "the assets watcher reported an error; edits may go unseen");
                    false
                }
            };
            if relevant {
                // The receiver only goes away when the watcher is being dropped.
                let _ = event_tx.send(());
            }
        })
        .map_err(notify_error)?;
        watcher
            .watch(dir, RecursiveMode::Recursive)
            .map_err(notify_error)?;

        let (outcome_tx, outcomes) = mpsc::channel();
        let dir = dir.to_path_buf();
        thread::Builder::new()
            .name("asset-reload".into())
            .spawn(move || reload_on_change(&dir, running, &event_rx, &outcome_tx))?;
        Ok(AssetWatcher {
            _watcher: watcher,
            outcomes,
        })
    }

    /// The next reload outcome, if one is ready; never blocks.
    pub fn try_next(&self) -> Option<ReloadOutcome> {
        self.outcomes.try_recv().ok()
    }

    /// Waits up to `timeout` for the next reload outcome.
    pub fn next_within(&self, timeout: Duration) -> Option<ReloadOutcome> {
        self.outcomes.recv_timeout(timeout).ok()
    }
}

/// Whether a change to `path` may change the configuration: an asset file, or a directory (one
/// moved into place holds asset files); not a hidden file such as an editor's lock file.
fn may_hold_assets(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with('.'));
    !hidden && path.extension().is_none_or(|extension| extension == "toml")
}

fn reload_on_change(
    dir: &Path,
    mut running: Arc<Config>,
    events: &Receiver<()>,
    outcomes: &Sender<ReloadOutcome>,
) {
    // Ends when the watcher (and with it the event sender) is dropped.
    while events.recv().is_ok() {
        loop {
            match events.recv_timeout(SETTLE) {
                Ok(()) => continue,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        let outcome = match Config::load(dir) {
            Ok(config) if config == *running => continue,
            Ok(config) => {
                running = Arc::new(config);
                ReloadOutcome::Applied(Arc::clone(&running))
            }
            Err(errors) => ReloadOutcome::Refused(errors),
        };
        if outcomes.send(outcome).is_err() {
            return;
        }
    }
}
