//! Hot reload: watches the assets directory, waits for a burst of edits to settle (at most a
//! second), reloads the whole [`Config`] and hands the outcome to whoever drives the simulation,
//! which applies it at a tick boundary. A refused edit leaves the running configuration untouched.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crate::sync::lock;
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tracing::{info, warn};

use super::{Config, ConfigErrors, is_hidden};

/// Quiet time after the last file event before the directory is reloaded, so that an editor's
/// truncate-then-write or a `git checkout` of several files is seen as one edit.
const SETTLE: Duration = Duration::from_millis(150);
/// Longest a burst of file events may put a reload off, so that a tool writing without pause is
/// still followed; the burst's end brings another reload.
const MAX_SETTLE: Duration = Duration::from_secs(1);
/// How often the path to the assets is checked for leading somewhere else without an event.
const RECHECK: Duration = Duration::from_secs(2);

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
    /// Shared with the reload thread, which watches the directory again when it is replaced;
    /// dropping it ends that thread.
    _watcher: Arc<Mutex<RecommendedWatcher>>,
    outcomes: Receiver<ReloadOutcome>,
}

impl AssetWatcher {
    /// Starts watching `dir`; `running` is the configuration the server started with, so that
    /// edits which change nothing are not reported, and keys bounded by a key read only at start
    /// are checked against its value.
    pub fn start(dir: &Path, running: Arc<Config>) -> Result<AssetWatcher, WatchError> {
        let notify_error = |source| WatchError::Notify {
            dir: dir.display().to_string(),
            source,
        };
        let (event_tx, event_rx) = mpsc::channel();
        let first_look = event_tx.clone();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Events the watcher lost (a queue overflow asks for a rescan) may have been edits:
            // the directory is read again, which reports only a configuration that changed.
            let relevant = match event {
                Ok(event) => {
                    event.need_rescan()
                        || !matches!(event.kind, EventKind::Access(_))
                            && event.paths.iter().any(|p| may_hold_assets(p))
                }
                Err(error) => {
                    warn!(%error, "the assets watcher reported an error; reading the assets again");
                    true
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
        // The folder holding the assets, for the assets themselves being replaced: a release
        // renamed into place, or a symbolic link switched to another one.
        let parent = dir.parent().filter(|parent| !parent.as_os_str().is_empty());
        if let Err(error) = watcher.watch(parent.unwrap_or(Path::new(".")), RecursiveMode::NonRecursive) {
            warn!(%error, "cannot watch the folder holding the assets; replacing them whole needs a restart");
        }

        let (outcome_tx, outcomes) = mpsc::channel();
        let watcher = Arc::new(Mutex::new(watcher));
        let reload = Reload {
            dir: dir.to_path_buf(),
            started: Arc::clone(&running),
            watched: identity(dir),
            watcher: Arc::downgrade(&watcher),
        };
        // One look once the watch is in place, for edits saved between the start's load of the
        // assets and now (during a long recovery, say), which no event will report.
        let _ = first_look.send(());
        thread::Builder::new()
            .name("asset-reload".into())
            .spawn(move || reload.on_change(running, &event_rx, &outcome_tx))?;
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
    !is_hidden(path) && path.extension().is_none_or(|extension| extension == "toml")
}

/// What `dir` is now: the directory it resolves to and, on Unix, that directory's inode; both
/// change when the assets are replaced whole.
fn identity(dir: &Path) -> Option<(PathBuf, u64)> {
    let resolved = std::fs::canonicalize(dir).ok()?;
    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&resolved).ok()?.ino()
    };
    #[cfg(not(unix))]
    let inode = 0;
    Some((resolved, inode))
}

/// The reload thread's view of the assets directory.
struct Reload {
    dir: PathBuf,
    /// The configuration the server started with: what the keys read only at start hold until a
    /// restart.
    started: Arc<Config>,
    /// What the recursive watch was placed on.
    watched: Option<(PathBuf, u64)>,
    watcher: Weak<Mutex<RecommendedWatcher>>,
}

impl Reload {
    /// Watches the assets again when the directory the path leads to is not the one watched.
    fn follow_replacement(&mut self) {
        let now = identity(&self.dir);
        if now.is_none() || now == self.watched {
            return;
        }
        let Some(watcher) = self.watcher.upgrade() else {
            return;
        };
        let mut watcher = lock(&watcher);
        let _ = watcher.unwatch(&self.dir);
        match watcher.watch(&self.dir, RecursiveMode::Recursive) {
            Ok(()) => {
                info!(dir = %self.dir.display(), "the assets were replaced; watching the new ones");
                self.watched = now;
            }
            Err(error) => warn!(%error, "cannot watch the replaced assets; edits may go unseen"),
        }
    }

    #[expect(
        clippy::disallowed_methods,
        reason = "a burst of edits is bounded on the wall clock, on the reload thread"
    )]
    fn on_change(
        mut self,
        mut running: Arc<Config>,
        events: &Receiver<()>,
        outcomes: &Sender<ReloadOutcome>,
    ) {
        // Ends when the watcher (and with it the event sender) is dropped.
        loop {
            match events.recv_timeout(RECHECK) {
                Ok(()) => {}
                // A symbolic link switched higher up the path than the folder holding the
                // assets sends no event: the path is looked at again now and then.
                Err(RecvTimeoutError::Timeout) => {
                    let now = identity(&self.dir);
                    if now.is_none() || now == self.watched {
                        continue;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let burst = Instant::now();
            loop {
                let left = MAX_SETTLE.saturating_sub(burst.elapsed());
                if left.is_zero() {
                    break;
                }
                match events.recv_timeout(SETTLE.min(left)) {
                    Ok(()) => continue,
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            self.follow_replacement();
            let outcome = match Config::reload(&self.dir, &self.started) {
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
}
