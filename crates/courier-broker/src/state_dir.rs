//! The broker's state directory: the store file, the lock that keeps a second
//! broker out, and the connection file that clients read.
//!
//! Layout of `<state dir>`:
//! - `courier.db` (+ `-wal`, `-shm`): the durable store;
//! - `broker.lock`: held (flock) while a broker runs; holds its PID;
//! - `connection.json`: `{"url":…,"token":…,"pid":…}`, mode 0600;
//! - `sessions/`: the session hosts' sockets and logs.
//!
//! It is private to its user: the directory (and `sessions/`) 0700, every
//! file in it 0600 — the store holds every message, the connection file the
//! owner's token. A directory found with looser modes (made by hand, or by
//! an older Courier) is tightened at start, with a warning naming what was
//! changed, rather than refused: the fix is always the same and safe. The
//! store file is created 0600 before SQLite opens it, and SQLite gives its
//! `-wal` and `-shm` files the database's mode.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const DB_FILE: &str = "courier.db";
pub const LOCK_FILE: &str = "broker.lock";
pub const CONNECTION_FILE: &str = "connection.json";

#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    #[error("cannot create state directory {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "another broker (pid {pid}) is running with state directory {path}; stop it with `courier down` or use another --state-dir"
    )]
    Locked { path: PathBuf, pid: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("connection file {path} is not valid: {reason}")]
    BadConnectionFile { path: PathBuf, reason: String },
}

/// Where the broker keeps its state when no directory is given:
/// `$COURIER_STATE_DIR`, else `$XDG_STATE_HOME/courier`, else
/// `~/.local/state/courier`, else `./.courier`.
pub fn default_state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("COURIER_STATE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(dir).join("courier");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".local/state/courier");
    }
    PathBuf::from(".courier")
}

/// Where a client finds the connection file of the broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    pub url: String,
    pub token: String,
    pub pid: u32,
}

impl ConnectionInfo {
    pub fn read(dir: &Path) -> Result<ConnectionInfo, StateDirError> {
        let path = dir.join(CONNECTION_FILE);
        let text = fs::read_to_string(&path).map_err(|source| StateDirError::Io {
            action: "read",
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| StateDirError::BadConnectionFile {
            path,
            reason: e.to_string(),
        })
    }
}

/// A state directory held by this process. Dropping it releases the lock and
/// removes the connection file.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    lock: File,
}

impl StateDir {
    /// Creates the directory if needed and takes its lock, or says which
    /// process holds it.
    pub fn acquire(path: &Path) -> Result<StateDir, StateDirError> {
        make_private(path)?;
        let lock_path = path.join(LOCK_FILE);
        let io = |action: &'static str| {
            let lock_path = lock_path.clone();
            move |source| StateDirError::Io {
                action,
                path: lock_path,
                source,
            }
        };
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io("open"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = lock.read_to_string(&mut pid);
                let pid = pid.trim().to_string();
                return Err(StateDirError::Locked {
                    path: path.to_path_buf(),
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock")(e)),
        }
        lock.set_len(0).map_err(io("truncate"))?;
        lock.seek(SeekFrom::Start(0)).map_err(io("seek"))?;
        writeln!(lock, "{}", std::process::id()).map_err(io("write"))?;
        lock.sync_all().map_err(io("sync"))?;
        Ok(StateDir {
            path: path.to_path_buf(),
            lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn db_path(&self) -> PathBuf {
        self.path.join(DB_FILE)
    }

    /// The store's path, its file created 0600 if absent (an empty file
    /// is an empty SQLite database), so SQLite never creates it, nor its
    /// `-wal`/`-shm` (which take its mode), with the umask's looser mode.
    pub fn private_db_path(&self) -> Result<PathBuf, StateDirError> {
        let path = self.db_path();
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|source| StateDirError::Io {
                action: "create",
                path: path.clone(),
                source,
            })?;
        Ok(path)
    }
}

/// Creates `path` 0700 if absent; tightens it and what is in it (files to
/// 0600, directories such as `sessions/` to 0700, one level down) if they
/// are open to the group or others, warning about each.
fn make_private(path: &Path) -> Result<(), StateDirError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| StateDirError::Create {
            path: path.to_path_buf(),
            source,
        })?;
    tighten(path, 0o700)?;
    for sub in entries(path)? {
        let Ok(meta) = fs::symlink_metadata(&sub) else {
            continue;
        };
        if meta.is_dir() {
            tighten(&sub, 0o700)?;
            for inner in entries(&sub)? {
                if fs::symlink_metadata(&inner).is_ok_and(|m| m.is_file()) {
                    tighten(&inner, 0o600)?;
                }
            }
        } else if meta.is_file() {
            tighten(&sub, 0o600)?;
        }
    }
    Ok(())
}

fn entries(dir: &Path) -> Result<Vec<PathBuf>, StateDirError> {
    let io = |source| StateDirError::Io {
        action: "list",
        path: dir.to_path_buf(),
        source,
    };
    fs::read_dir(dir)
        .map_err(io)?
        .map(|entry| entry.map(|e| e.path()).map_err(io))
        .collect()
}

/// Sets `mode` on `path` if it grants the group or others anything.
fn tighten(path: &Path, mode: u32) -> Result<(), StateDirError> {
    let io = |action| {
        move |source| StateDirError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let found = fs::symlink_metadata(path)
        .map_err(io("read"))?
        .permissions()
        .mode()
        & 0o777;
    if found & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io("chmod"))?;
        tracing::warn!(
            path = %path.display(),
            "the state directory must be private to its user: mode {found:o} tightened to {mode:o}"
        );
    }
    Ok(())
}

/// Writes `connection.json` in `dir` with mode 0600, atomically.
pub fn write_connection_file(dir: &Path, info: &ConnectionInfo) -> Result<(), StateDirError> {
    let path = dir.join(CONNECTION_FILE);
    let tmp = dir.join(format!("{CONNECTION_FILE}.tmp"));
    let io = |action: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| StateDirError::Io {
            action,
            path: p,
            source,
        }
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io("create", &tmp))?;
    // The mode above applies only to a new file; make sure of it.
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io("chmod", &tmp))?;
    let json = serde_json::to_vec_pretty(info).unwrap_or_default();
    file.write_all(&json).map_err(io("write", &tmp))?;
    file.sync_all().map_err(io("sync", &tmp))?;
    fs::rename(&tmp, &path).map_err(io("rename", &path))?;
    Ok(())
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.path.join(CONNECTION_FILE));
        let _ = self.lock.set_len(0);
        let _ = self.lock.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = StateDir::acquire(dir.path()).unwrap();
        let err = StateDir::acquire(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&std::process::id().to_string()), "{text}");
        drop(held);
        StateDir::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_loose_state_directory_is_tightened() {
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("fresh/state");
        let held = StateDir::acquire(&fresh).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&fresh), 0o700);
        assert_eq!(mode(&fresh.join(LOCK_FILE)), 0o600);
        assert_eq!(mode(&held.private_db_path().unwrap()), 0o600);
        drop(held);

        let loose = root.path().join("loose");
        fs::create_dir_all(loose.join("sessions")).unwrap();
        fs::write(loose.join(DB_FILE), b"").unwrap();
        fs::write(loose.join("sessions/a.log"), b"x").unwrap();
        for (p, m) in [
            (loose.clone(), 0o755),
            (loose.join("sessions"), 0o755),
            (loose.join(DB_FILE), 0o644),
            (loose.join("sessions/a.log"), 0o644),
        ] {
            fs::set_permissions(&p, fs::Permissions::from_mode(m)).unwrap();
        }
        let _held = StateDir::acquire(&loose).unwrap();
        assert_eq!(mode(&loose), 0o700);
        assert_eq!(mode(&loose.join("sessions")), 0o700);
        assert_eq!(mode(&loose.join(DB_FILE)), 0o600);
        assert_eq!(mode(&loose.join("sessions/a.log")), 0o600);
    }

    #[test]
    fn connection_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let held = StateDir::acquire(dir.path()).unwrap();
        let info = ConnectionInfo {
            url: "http://127.0.0.1:1".into(),
            token: "t".into(),
            pid: 1,
        };
        write_connection_file(dir.path(), &info).unwrap();
        let mode = fs::metadata(dir.path().join(CONNECTION_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(ConnectionInfo::read(dir.path()).unwrap(), info);
        drop(held);
        assert!(!dir.path().join(CONNECTION_FILE).exists());
    }
}
