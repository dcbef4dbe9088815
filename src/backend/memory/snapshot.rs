//! Saving and restoring the whole store as JSON.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::state::{SNAPSHOT_VERSION, State};

/// Why a snapshot could not be read or written. A store is never silently replaced by an
/// empty one: every unreadable or corrupt snapshot is one of these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The snapshot file could not be read.
    #[error(
        "cannot read the in-memory KMS snapshot `{}`: check that it exists and is readable",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The snapshot could not be written (the temporary file, its sync, or the rename).
    #[error(
        "cannot write the in-memory KMS snapshot `{}`: check that its directory exists and is writable",
        path.display()
    )]
    Write {
        /// The file that was to be written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The text is not a snapshot: not JSON, or JSON of another shape.
    #[error(
        "{} is not a valid in-memory KMS snapshot: restore it from a copy, or remove it to start with an empty store",
        describe(path.as_deref())
    )]
    Corrupt {
        /// The file, when the snapshot came from one.
        path: Option<PathBuf>,
        /// The parse error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The snapshot is JSON of the right shape but its keys contradict each other.
    #[error(
        "{} is not a consistent in-memory KMS snapshot ({reason}): restore it from a copy, or remove it to start with an empty store",
        describe(path.as_deref())
    )]
    Inconsistent {
        /// The file, when the snapshot came from one.
        path: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
    /// The snapshot was written by a version of this crate with another format.
    #[error(
        "{} has snapshot format {found}, but this version of kms-key reads format {supported}: use the matching kms-key version",
        describe(path.as_deref())
    )]
    UnsupportedVersion {
        /// The file, when the snapshot came from one.
        path: Option<PathBuf>,
        /// The format version in the snapshot.
        found: u32,
        /// The format version this crate reads.
        supported: u32,
    },
}

fn describe(path: Option<&Path>) -> String {
    match path {
        Some(p) => format!("`{}`", p.display()),
        None => "the text".to_owned(),
    }
}

impl SnapshotError {
    /// The file the error is about, when there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            SnapshotError::Read { path, .. } | SnapshotError::Write { path, .. } => Some(path),
            SnapshotError::Corrupt { path, .. }
            | SnapshotError::Inconsistent { path, .. }
            | SnapshotError::UnsupportedVersion { path, .. } => path.as_deref(),
        }
    }

    fn at(self, file: &Path) -> Self {
        let file = Some(file.to_path_buf());
        match self {
            SnapshotError::Corrupt { source, .. } => SnapshotError::Corrupt { path: file, source },
            SnapshotError::Inconsistent { reason, .. } => {
                SnapshotError::Inconsistent { path: file, reason }
            }
            SnapshotError::UnsupportedVersion {
                found, supported, ..
            } => SnapshotError::UnsupportedVersion {
                path: file,
                found,
                supported,
            },
            other => other,
        }
    }
}

pub(super) fn to_json(state: &State) -> String {
    // Plain data with string map keys: serialization cannot fail.
    serde_json::to_string_pretty(state).expect("the store serializes to JSON")
}

pub(super) fn from_json(text: &str) -> Result<State, SnapshotError> {
    // Read the version first, so a future format is reported as such, not as corrupt.
    #[derive(serde::Deserialize)]
    struct Version {
        version: u32,
    }
    let version: Version = serde_json::from_str(text)
        .map_err(|source| SnapshotError::Corrupt { path: None, source })?;
    if version.version != SNAPSHOT_VERSION {
        return Err(SnapshotError::UnsupportedVersion {
            path: None,
            found: version.version,
            supported: SNAPSHOT_VERSION,
        });
    }
    let mut state: State = serde_json::from_str(text)
        .map_err(|source| SnapshotError::Corrupt { path: None, source })?;
    state
        .rebuild_index()
        .map_err(|reason| SnapshotError::Inconsistent { path: None, reason })?;
    Ok(state)
}

/// Reads a snapshot file; `Ok(None)` when the file does not exist.
pub(super) fn read(path: &Path) -> Result<Option<State>, SnapshotError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SnapshotError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    from_json(&text).map(Some).map_err(|e| e.at(path))
}

/// Writes `text` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed over `path`, so a crash leaves either the old snapshot or the new one.
pub(super) fn write_atomic(path: &Path, text: &str) -> Result<(), SnapshotError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let write_error = |source| SnapshotError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| write_error(io::Error::new(io::ErrorKind::InvalidInput, "no file name")))?;
    let temp = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)?;
        // Make the rename itself durable where directories can be synced.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(write_error)
}
