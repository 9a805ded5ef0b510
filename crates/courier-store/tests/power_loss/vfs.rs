//! A SQLite VFS that simulates power loss, for tests.
//!
//! [`Disk::register`] registers a VFS (named `powerloss-N`, for
//! `StoreOptions::vfs` or `Connection::open_with_flags_and_vfs`) that hands
//! every call to SQLite's `unix` VFS and keeps account of what a disk would
//! still hold if the power went out now.
//!
//! # What it models
//!
//! - **File contents.** Per file (per inode, not per name): the writes and
//!   truncates since the file's last `xSync`. Before a write or a truncate
//!   changes bytes that were synced, it saves them (an undo log); `xSync`
//!   makes the file's current bytes and length its synced state.
//! - **The cut.** [`Disk::cut_after`] cuts the power at the n-th operation
//!   that changes the disk (a write, truncate, sync or delete, counted from
//!   the call), [`Disk::cut_at_database_write`] at the n-th write to a main
//!   database file (in WAL mode, inside a checkpoint), and [`Disk::cut`] at
//!   once. The operation the cut lands on
//!   fails and so does every read, write, truncate, sync, delete and open
//!   after it (SQLite sees `SQLITE_IOERR_*` / `SQLITE_CANTOPEN`), so nothing
//!   done after the cut reaches the files. Once every connection is closed,
//!   [`Disk::recover`] puts each file back to its synced bytes and length:
//!   every write not yet synced is gone.
//! - **Directory entries.** A file created since its directory was last
//!   synced is gone after a cut (the `-wal`, a `-journal`, or a new database
//!   file), and a file deleted since then comes back, with its synced bytes
//!   (a deleted file is moved aside until its directory is synced). A
//!   directory is synced exactly when the `unix` VFS fsyncs it: on the first
//!   `xSync` of a handle opened with `SQLITE_OPEN_CREATE` for a WAL, a main
//!   journal or a super-journal (its `UNIXFILE_DIRSYNC`), and by `xDelete`
//!   with `syncDir`. Syncing a directory makes every entry in it durable, as
//!   `fsync` on a directory does.
//! - **The `-shm` file** (the WAL index): SQLite never syncs it and rebuilds
//!   it from the WAL; a cut deletes it.
//!
//! # What it does not model
//!
//! - Unsynced writes that did reach the disk. A real disk may keep any
//!   subset of them, in any order, or part of one (a torn sector); this
//!   layer keeps none. That is one possible outcome (the one that drops
//!   most), not all of them; SQLite's WAL frame checksums, which guard
//!   against the others, are not exercised.
//! - A disk that acknowledges a flush it did not do, bit rot, or a failing
//!   read of synced data.
//! - The machine's own fsync: `xSync` is answered without one, since
//!   durability here is the model's (and the test runs faster).
//! - Memory-mapped I/O: the files offer I/O methods version 2 (no `xFetch`),
//!   so SQLite reads and writes pages only through `xRead`/`xWrite`, and
//!   `SQLITE_FCNTL_SIZE_HINT` is swallowed (it may preallocate outside
//!   `xWrite`).
//! - Renames and nested directories (SQLite uses neither); files opened
//!   without a name (temporary files) pass through untracked.

use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, OsStr, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::ffi;

use crate::vfs_layer::{
    REAL_OFFSET, Real, x_access, x_current_time, x_current_time_int64, x_delete, x_dl_close,
    x_dl_error, x_dl_open, x_dl_sym, x_full_pathname, x_get_last_error, x_open, x_randomness,
    x_sleep,
};

/// One simulated disk: a registered VFS and what a power cut would leave.
pub struct Disk {
    name: String,
    /// SQLite's `unix` VFS, which does the real I/O.
    pub(crate) real: *mut ffi::sqlite3_vfs,
    cut: AtomicBool,
    state: Mutex<State>,
}

// SAFETY: `real` points to SQLite's own `unix` VFS object, which lives as long
// as the process and whose methods may be called from any thread (the bundled
// SQLite is built with SQLITE_THREADSAFE=1). Everything else is behind the mutex.
unsafe impl Send for Disk {}
unsafe impl Sync for Disk {}

/// What [`Disk::recover`] undid.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// Synced byte ranges that had been overwritten, put back.
    pub ranges_restored: usize,
    /// Bytes written past a file's synced length, cut off.
    pub bytes_truncated: u64,
    /// Files whose creation was not durable, removed.
    pub files_removed: usize,
    /// Files whose deletion was not durable, brought back.
    pub files_restored: usize,
    /// Main database files that had unsynced writes: the cut fell inside a
    /// WAL checkpoint (or a rollback-journal commit).
    pub databases_rolled_back: usize,
}

#[derive(Default)]
pub(crate) struct State {
    /// Every name the disk has seen since the last recovery.
    names: HashMap<PathBuf, Name>,
    /// Every file (inode) the disk has seen, by id.
    pub(crate) files: HashMap<u64, FileState>,
    next_file: u64,
    pub(crate) next_aside: u64,
    pub(crate) open_handles: usize,
    /// Operations that changed the disk since the cut was armed.
    ops: u64,
    /// Writes to a main database file since the cut was armed.
    database_writes: u64,
    cut_at: Option<Trigger>,
}

/// When an armed cut comes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// At the n-th operation that changes the disk.
    Op(u64),
    /// At the n-th write to a main database file (in WAL mode: inside a
    /// checkpoint, the only time the database file is written).
    DatabaseWrite(u64),
}

/// A name in a directory: what it holds now and after a cut.
pub(crate) struct Name {
    /// The file there now (`None`: no file).
    pub(crate) now: Option<u64>,
    pub(crate) durable: Durable,
    /// A main database: its `-shm` goes with a cut.
    main_db: bool,
}

/// What a power cut leaves at a name.
pub(crate) enum Durable {
    Absent,
    /// The file there now (as of its last sync).
    Now,
    /// A file deleted since the directory's last sync, moved to `aside`.
    Deleted {
        aside: PathBuf,
        file: u64,
    },
}

/// One file as of its last sync.
#[derive(Default)]
pub(crate) struct FileState {
    pub(crate) synced_len: u64,
    /// Synced bytes overwritten or cut off since the last sync, oldest first.
    pub(crate) undo: Vec<(u64, Vec<u8>)>,
    /// Ranges in `undo`: only the first save of a range holds synced bytes.
    pub(crate) saved: HashSet<(u64, usize)>,
}

/// File types whose contents and names the disk tracks.
pub(crate) const TRACKED: c_int = ffi::SQLITE_OPEN_MAIN_DB
    | ffi::SQLITE_OPEN_MAIN_JOURNAL
    | ffi::SQLITE_OPEN_SUPER_JOURNAL
    | ffi::SQLITE_OPEN_WAL;

/// Types for which the `unix` VFS fsyncs the directory on the first sync of a
/// handle opened with `SQLITE_OPEN_CREATE` (`isNewJrnl` in `unixOpen`).
pub(crate) const DIR_SYNCED: c_int =
    ffi::SQLITE_OPEN_MAIN_JOURNAL | ffi::SQLITE_OPEN_SUPER_JOURNAL | ffi::SQLITE_OPEN_WAL;

impl Disk {
    /// Registers a new simulated disk (a VFS of its own, never the default).
    /// It lives as long as the process: SQLite keeps a pointer to it.
    pub fn register() -> &'static Disk {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("powerloss-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        // SAFETY: the argument is a NUL-terminated string; SQLite returns a
        // pointer to its own static VFS object (or null).
        let real = unsafe { ffi::sqlite3_vfs_find(c"unix".as_ptr()) };
        assert!(!real.is_null(), "SQLite has no unix VFS");
        let disk: &'static Disk = Box::leak(Box::new(Disk {
            name: name.clone(),
            real,
            cut: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        }));
        let z_name = std::ffi::CString::new(name)
            .expect("the name has no NUL")
            .into_raw();
        // SAFETY: `real` is SQLite's live unix VFS (checked above).
        let (real_size, max_path) = unsafe { ((*real).szOsFile, (*real).mxPathname) };
        let vfs = Box::leak(Box::new(ffi::sqlite3_vfs {
            iVersion: 2,
            szOsFile: REAL_OFFSET as c_int + real_size,
            mxPathname: max_path,
            pNext: std::ptr::null_mut(),
            zName: z_name,
            pAppData: std::ptr::from_ref(disk).cast_mut().cast(),
            xOpen: Some(x_open),
            xDelete: Some(x_delete),
            xAccess: Some(x_access),
            xFullPathname: Some(x_full_pathname),
            xDlOpen: Some(x_dl_open),
            xDlError: Some(x_dl_error),
            xDlSym: Some(x_dl_sym),
            xDlClose: Some(x_dl_close),
            xRandomness: Some(x_randomness),
            xSleep: Some(x_sleep),
            xCurrentTime: Some(x_current_time),
            xGetLastError: Some(x_get_last_error),
            xCurrentTimeInt64: Some(x_current_time_int64),
            xSetSystemCall: None,
            xGetSystemCall: None,
            xNextSystemCall: None,
        }));
        // SAFETY: `vfs` and its name are leaked, so they outlive every
        // connection that may use them, as SQLite requires.
        let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 0) };
        assert_eq!(rc, ffi::SQLITE_OK, "registering the VFS");
        disk
    }

    /// The VFS name to open a connection with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Cuts the power at the `n`-th operation from now (1 = the next one)
    /// that changes the disk: a write, truncate, sync or delete.
    pub fn cut_after(&self, n: u64) {
        self.arm(Trigger::Op(n.max(1)));
    }

    /// Cuts the power at the `n`-th write to a main database file from now:
    /// in WAL mode, in the middle of a checkpoint.
    pub fn cut_at_database_write(&self, n: u64) {
        self.arm(Trigger::DatabaseWrite(n.max(1)));
    }

    fn arm(&self, trigger: Trigger) {
        let mut state = self.lock();
        state.ops = 0;
        state.database_writes = 0;
        state.cut_at = Some(trigger);
    }

    /// Cuts the power now.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }

    pub fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    /// After a cut, with every file closed: puts every file and name back as
    /// the disk held them at their last sync, deletes the `-shm` files, and
    /// turns the power back on with a clean slate (what is on disk now is
    /// all durable).
    pub fn recover(&self) -> Recovery {
        let mut state = self.lock();
        assert!(self.is_cut(), "recover without a power cut");
        assert_eq!(state.open_handles, 0, "recover with files still open");
        let mut report = Recovery::default();
        let names: Vec<_> = state.names.drain().collect();
        for (path, name) in names {
            match name.durable {
                Durable::Absent => {
                    if remove_if_present(&path) {
                        report.files_removed += 1;
                    }
                }
                Durable::Now => {
                    let file = name.now.expect("a durable name holds a file");
                    let changed = roll_back(&path, &state.files[&file], &mut report);
                    if changed && name.main_db {
                        report.databases_rolled_back += 1;
                    }
                }
                Durable::Deleted { aside, file } => {
                    remove_if_present(&path);
                    std::fs::rename(&aside, &path)
                        .unwrap_or_else(|e| panic!("restoring {}: {e}", path.display()));
                    report.files_restored += 1;
                    roll_back(&path, &state.files[&file], &mut report);
                }
            }
            if name.main_db {
                remove_if_present(&shm_of(&path));
            }
        }
        *state = State::default();
        self.cut.store(false, Ordering::SeqCst);
        report
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take the disk down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one operation that changes the disk (`database_write`: a write
    /// to a main database file); false once the power is cut.
    pub(crate) fn tick(&self, state: &mut State, database_write: bool) -> bool {
        if self.is_cut() {
            return false;
        }
        state.ops += 1;
        state.database_writes += u64::from(database_write);
        let due = match state.cut_at {
            Some(Trigger::Op(n)) => state.ops == n,
            Some(Trigger::DatabaseWrite(n)) => database_write && state.database_writes == n,
            None => false,
        };
        if due {
            self.cut();
            return false;
        }
        true
    }
}

impl State {
    /// The name `path`, seen for the first time if new: then what is on disk
    /// there now is durable (it was there before this disk saw anything).
    pub(crate) fn name(&mut self, path: &Path, main_db: bool) -> &mut Name {
        if !self.names.contains_key(path) {
            let now = std::fs::metadata(path).ok().map(|meta| {
                let id = self.new_file();
                if let Some(file) = self.files.get_mut(&id) {
                    file.synced_len = meta.len();
                }
                id
            });
            let durable = if now.is_some() {
                Durable::Now
            } else {
                Durable::Absent
            };
            self.names.insert(
                path.to_path_buf(),
                Name {
                    now,
                    durable,
                    main_db,
                },
            );
        }
        let name = self.names.get_mut(path).expect("inserted above");
        name.main_db |= main_db;
        name
    }

    pub(crate) fn new_file(&mut self) -> u64 {
        self.next_file += 1;
        self.files.insert(self.next_file, FileState::default());
        self.next_file
    }

    /// `fsync` on `dir`: every entry in it becomes durable as it is now.
    pub(crate) fn sync_dir(&mut self, dir: &Path) {
        for (path, name) in &mut self.names {
            if path.parent() != Some(dir) {
                continue;
            }
            if let Durable::Deleted { aside, .. } = &name.durable {
                remove_if_present(aside);
            }
            name.durable = if name.now.is_some() {
                Durable::Now
            } else {
                Durable::Absent
            };
        }
    }

    /// Saves the synced bytes of `file` in `[offset, offset + len)` before
    /// they change (only the part below its synced length: past it, recovery
    /// truncates). `Err` carries SQLite's code of a failed read.
    pub(crate) fn save(
        &mut self,
        file: u64,
        real: Real,
        offset: u64,
        len: u64,
    ) -> Result<(), c_int> {
        let Some(state) = self.files.get_mut(&file) else {
            return Ok(());
        };
        let end = (offset + len).min(state.synced_len);
        if offset >= end {
            return Ok(());
        }
        let len = usize::try_from(end - offset).map_err(|_| ffi::SQLITE_IOERR)?;
        if !state.saved.insert((offset, len)) {
            return Ok(());
        }
        let mut old = vec![0; len];
        // A short read (the file was truncated below its synced length
        // since) zero-fills; that range's synced bytes are in an older entry,
        // which recovery applies last.
        match real.read(&mut old, offset) {
            ffi::SQLITE_OK | ffi::SQLITE_IOERR_SHORT_READ => {}
            rc => return Err(rc),
        }
        state.undo.push((offset, old));
        Ok(())
    }
}

/// Puts the file at `path` back to `state` (its synced length and bytes);
/// true if it had changed since.
fn roll_back(path: &Path, state: &FileState, report: &mut Recovery) -> bool {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("opening {} to roll it back: {e}", path.display()));
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let changed = len != state.synced_len || !state.undo.is_empty();
    report.bytes_truncated += len.saturating_sub(state.synced_len);
    file.set_len(state.synced_len)
        .unwrap_or_else(|e| panic!("truncating {}: {e}", path.display()));
    // Newest first, so where ranges overlap the oldest (synced) bytes win.
    for (offset, bytes) in state.undo.iter().rev() {
        file.write_all_at(bytes, *offset)
            .unwrap_or_else(|e| panic!("restoring {}: {e}", path.display()));
    }
    report.ranges_restored += state.undo.len();
    changed
}

fn remove_if_present(path: &Path) -> bool {
    std::fs::remove_file(path).is_ok()
}

fn shm_of(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-shm");
    PathBuf::from(name)
}

pub(crate) fn path_of(name: *const c_char) -> Option<PathBuf> {
    // SAFETY: SQLite passes either null or a NUL-terminated file name that
    // stays valid for the call.
    (!name.is_null()).then(|| {
        PathBuf::from(OsStr::from_bytes(
            unsafe { CStr::from_ptr(name) }.to_bytes(),
        ))
    })
}
