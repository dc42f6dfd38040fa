//! The server's data directory: created on first start and locked for as long as the server runs,
//! so that two servers can never write the same state.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Name of the lock file inside the data directory.
const LOCK_FILE: &str = "necpsim.lock";

/// Why the data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// The directory or its lock file could not be created or opened.
    #[error("data directory {path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Another process holds the lock.
    #[error("data directory {path} is in use by another necpsim process (lock held on {path}/{LOCK_FILE})")]
    InUse {
        /// The data directory.
        path: PathBuf,
    },
}

/// An exclusively locked data directory; the lock is released when this is dropped or the process
/// dies.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates `path` if needed and takes its lock.
    pub fn lock(path: &Path) -> Result<DataDir, DataDirError> {
        let io_error = |source| DataDirError::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(path).map_err(io_error)?;
        let mut lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.join(LOCK_FILE))
            .map_err(io_error)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(DataDirError::InUse {
                    path: path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(source)) => return Err(io_error(source)),
        }
        lock.set_len(0).map_err(io_error)?;
        writeln!(lock, "{}", std::process::id()).map_err(io_error)?;
        Ok(DataDir {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
