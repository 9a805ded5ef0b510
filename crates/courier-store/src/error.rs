//! What can go wrong, naming the file and the operation.
//!
//! [`StoreError`] is `Clone` because one failed group commit answers every
//! caller of its batch with the same error.

use std::path::{Path, PathBuf};

use courier_core::{CoreError, DeliveryId};
use rusqlite::ErrorCode;

/// Shown as the path of an in-memory store.
pub const MEMORY_PATH: &str = ":memory:";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The request breaks a rule of the delivery spec (checked by core).
    #[error(transparent)]
    Refused(#[from] CoreError),
    #[error("no delivery with id {id}")]
    UnknownDelivery { id: DeliveryId },
    #[error(
        "event type {kind:?} is written by the store itself; append_event takes lifecycle events only"
    )]
    NotLifecycleEvent { kind: &'static str },
    #[error(
        "cannot write {path}: the disk is full (or the database reached its size limit); nothing of this request was stored"
    )]
    DiskFull { path: PathBuf },
    #[error("cannot write {path}: the database is read-only; nothing of this request was stored")]
    ReadOnly { path: PathBuf },
    #[error(
        "cannot open {path}: it is not a SQLite database or it is corrupt ({detail}); the file was left untouched"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "cannot open {path}: its schema version is {found}, newer than the {supported} this build of Courier supports; upgrade Courier (the file was left untouched)"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("cannot open {path}: {detail}")]
    Open { path: PathBuf, detail: String },
    #[error("{path}: row {what} cannot be read back: {detail}")]
    BadRow {
        path: PathBuf,
        what: String,
        detail: String,
    },
    #[error("{path}: SQLite failed while {during}: {detail}")]
    Sqlite {
        path: PathBuf,
        during: &'static str,
        detail: String,
    },
    #[error("{path}: the store's writer thread has stopped; the request was not stored")]
    WriterGone { path: PathBuf },
    #[error("{path}: the store closed (or its reader stopped) while {operation}; nothing was read")]
    ReaderGone {
        path: PathBuf,
        operation: &'static str,
    },
}

impl StoreError {
    /// Maps a SQLite error to the variant a person can act on.
    pub(crate) fn sqlite(path: &Path, during: &'static str, err: rusqlite::Error) -> StoreError {
        let path = path.to_path_buf();
        match err.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull { path },
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly { path },
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
                path,
                detail: err.to_string(),
            },
            _ => StoreError::Sqlite {
                path,
                during,
                detail: err.to_string(),
            },
        }
    }

    /// Whether the failure is the storage's (disk, file, SQLite) rather than
    /// the request's.
    pub fn is_storage(&self) -> bool {
        !matches!(
            self,
            StoreError::Refused(_)
                | StoreError::UnknownDelivery { .. }
                | StoreError::NotLifecycleEvent { .. }
        )
    }
}

/// Shorthand used by the modules that talk to SQLite.
pub(crate) trait SqlContext<T> {
    fn during(self, path: &Path, during: &'static str) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn during(self, path: &Path, during: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::sqlite(path, during, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_names_the_file() {
        let err = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        let mapped = StoreError::sqlite(Path::new("/tmp/x.db"), "inserting", err);
        assert_eq!(
            mapped,
            StoreError::DiskFull {
                path: "/tmp/x.db".into()
            }
        );
        assert!(mapped.to_string().contains("/tmp/x.db"));
        assert!(mapped.is_storage());
    }
}
