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
use std::ffi::{CStr, OsStr, c_char, c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::ffi;

/// One simulated disk: a registered VFS and what a power cut would leave.
pub struct Disk {
    name: String,
    /// SQLite's `unix` VFS, which does the real I/O.
    real: *mut ffi::sqlite3_vfs,
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
struct State {
    /// Every name the disk has seen since the last recovery.
    names: HashMap<PathBuf, Name>,
    /// Every file (inode) the disk has seen, by id.
    files: HashMap<u64, FileState>,
    next_file: u64,
    next_aside: u64,
    open_handles: usize,
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
struct Name {
    /// The file there now (`None`: no file).
    now: Option<u64>,
    durable: Durable,
    /// A main database: its `-shm` goes with a cut.
    main_db: bool,
}

/// What a power cut leaves at a name.
enum Durable {
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
struct FileState {
    synced_len: u64,
    /// Synced bytes overwritten or cut off since the last sync, oldest first.
    undo: Vec<(u64, Vec<u8>)>,
    /// Ranges in `undo`: only the first save of a range holds synced bytes.
    saved: HashSet<(u64, usize)>,
}

/// File types whose contents and names the disk tracks.
const TRACKED: c_int = ffi::SQLITE_OPEN_MAIN_DB
    | ffi::SQLITE_OPEN_MAIN_JOURNAL
    | ffi::SQLITE_OPEN_SUPER_JOURNAL
    | ffi::SQLITE_OPEN_WAL;

/// Types for which the `unix` VFS fsyncs the directory on the first sync of a
/// handle opened with `SQLITE_OPEN_CREATE` (`isNewJrnl` in `unixOpen`).
const DIR_SYNCED: c_int =
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

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take the disk down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one operation that changes the disk (`database_write`: a write
    /// to a main database file); false once the power is cut.
    fn tick(&self, state: &mut State, database_write: bool) -> bool {
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
    fn name(&mut self, path: &Path, main_db: bool) -> &mut Name {
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

    fn new_file(&mut self) -> u64 {
        self.next_file += 1;
        self.files.insert(self.next_file, FileState::default());
        self.next_file
    }

    /// `fsync` on `dir`: every entry in it becomes durable as it is now.
    fn sync_dir(&mut self, dir: &Path) {
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
    fn save(&mut self, file: u64, real: Real, offset: u64, len: u64) -> Result<(), c_int> {
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

fn path_of(name: *const c_char) -> Option<PathBuf> {
    // SAFETY: SQLite passes either null or a NUL-terminated file name that
    // stays valid for the call.
    (!name.is_null()).then(|| {
        PathBuf::from(OsStr::from_bytes(
            unsafe { CStr::from_ptr(name) }.to_bytes(),
        ))
    })
}

// ---------------------------------------------------------------------------
// The FFI side. Each callback finds its `Disk` (the VFS's `pAppData`) or its
// `Handle` (behind the `sqlite3_file` SQLite allocated) and hands the real
// work to the `unix` VFS; the bookkeeping above is safe Rust.

/// What SQLite allocates per open file (`szOsFile` bytes): this header, then
/// the `unix` VFS's own file object at [`REAL_OFFSET`].
#[repr(C)]
struct LayerFile {
    /// Must come first: SQLite reads `pMethods` from here.
    base: ffi::sqlite3_file,
    /// Boxed; freed by `x_close`.
    handle: *mut Handle,
}

/// Where the real file starts: past the header, 8-aligned (SQLite's
/// allocations are 8-aligned).
const REAL_OFFSET: usize = std::mem::size_of::<LayerFile>().next_multiple_of(8);

struct Handle {
    disk: &'static Disk,
    /// The tracked file and its name (`None`: passed through untracked).
    file: Option<(u64, PathBuf)>,
    /// The `unix` VFS would fsync the directory on this handle's next sync.
    dir_sync: AtomicBool,
    main_db: bool,
}

/// The `unix` VFS's file object behind one of ours.
#[derive(Clone, Copy)]
struct Real(*mut ffi::sqlite3_file);

fn real_of(file: *mut ffi::sqlite3_file) -> Real {
    Real(file.cast::<u8>().wrapping_add(REAL_OFFSET).cast())
}

/// Calls I/O method `$method` of a real file; `SQLITE_IOERR` if it has none.
macro_rules! real_call {
    ($real:expr, $method:ident $(, $arg:expr)*) => {{
        let real: Real = $real;
        // SAFETY: a `Real` is only made for a file the `unix` VFS opened (its
        // `pMethods` set) and not yet closed; SQLite serializes calls on one
        // file, and the arguments are SQLite's own, passed on unchanged.
        match unsafe { (*(*real.0).pMethods).$method } {
            Some(method) => unsafe { method(real.0 $(, $arg)*) },
            None => ffi::SQLITE_IOERR,
        }
    }};
}

impl Real {
    fn read(self, buf: &mut [u8], offset: u64) -> c_int {
        let Ok(len) = c_int::try_from(buf.len()) else {
            return ffi::SQLITE_IOERR_READ;
        };
        real_call!(self, xRead, buf.as_mut_ptr().cast(), len, offset as i64)
    }

    fn size(self) -> Result<u64, c_int> {
        let mut size: i64 = 0;
        match real_call!(self, xFileSize, &mut size) {
            ffi::SQLITE_OK => Ok(u64::try_from(size).unwrap_or(0)),
            rc => Err(rc),
        }
    }
}

/// The disk behind our VFS.
///
/// # Safety
/// `vfs` must be a VFS made by [`Disk::register`].
unsafe fn disk_of(vfs: *mut ffi::sqlite3_vfs) -> &'static Disk {
    // SAFETY: our VFS's `pAppData` is a leaked `Disk` (see `register`).
    unsafe { &*(*vfs).pAppData.cast::<Disk>() }
}

/// The handle of a file our `x_open` opened.
///
/// # Safety
/// `file` must be open (between a successful `x_open` and its `x_close`).
unsafe fn handle_of<'a>(file: *mut ffi::sqlite3_file) -> &'a Handle {
    // SAFETY: `x_open` wrote a live boxed handle into the header.
    unsafe { &*(*file.cast::<LayerFile>()).handle }
}

static IO_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 2,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: None,
    xUnfetch: None,
};

unsafe extern "C" fn x_open(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: SQLite calls our xOpen with our VFS and `szOsFile` writable
    // bytes at `file`; on failure `pMethods` must be left null.
    let disk = unsafe { disk_of(vfs) };
    unsafe { (*file).pMethods = std::ptr::null() };
    let mut state = disk.lock();
    if disk.is_cut() {
        return ffi::SQLITE_CANTOPEN;
    }
    let path = path_of(z_name).filter(|_| flags & TRACKED != 0);
    let main_db = flags & ffi::SQLITE_OPEN_MAIN_DB != 0;
    if let Some(path) = &path {
        state.name(path, main_db); // before the open may create it
    }
    let real = real_of(file);
    // SAFETY: `disk.real` is the live unix VFS; the real file gets its own
    // `szOsFile` bytes at REAL_OFFSET.
    let rc = match unsafe { (*disk.real).xOpen } {
        Some(open) => unsafe { open(disk.real, z_name, real.0, flags, out_flags) },
        None => ffi::SQLITE_CANTOPEN,
    };
    if rc != ffi::SQLITE_OK {
        // SAFETY: as above; a failed open that still set `pMethods` must be closed.
        if unsafe { !(*real.0).pMethods.is_null() } {
            real_call!(real, xClose);
        }
        return rc;
    }
    let tracked = path.map(|path| {
        let created = state.name(&path, main_db).now.is_none();
        let id = if created {
            let id = state.new_file();
            state.name(&path, main_db).now = Some(id);
            id
        } else {
            state.name(&path, main_db).now.expect("checked above")
        };
        (id, path)
    });
    let dir_sync = flags & ffi::SQLITE_OPEN_CREATE != 0 && flags & DIR_SYNCED != 0;
    let handle = Box::new(Handle {
        disk,
        file: tracked,
        dir_sync: AtomicBool::new(dir_sync),
        main_db,
    });
    state.open_handles += 1;
    // SAFETY: `file` is ours (see above); the header is written once, here.
    unsafe {
        (*file.cast::<LayerFile>()).handle = Box::into_raw(handle);
        (*file).pMethods = &IO_METHODS;
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes each file it opened once; the handle was boxed by
    // `x_open` and is not used after this.
    let handle = unsafe { Box::from_raw((*file.cast::<LayerFile>()).handle) };
    let rc = real_call!(real_of(file), xClose);
    handle.disk.lock().open_handles -= 1;
    rc
}

unsafe extern "C" fn x_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite only calls I/O methods on a file it opened.
    if unsafe { handle_of(file) }.disk.is_cut() {
        return ffi::SQLITE_IOERR_READ;
    }
    real_call!(real_of(file), xRead, buf, amount, offset)
}

unsafe extern "C" fn x_write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite only calls I/O methods on a file it opened.
    let handle = unsafe { handle_of(file) };
    let mut state = handle.disk.lock();
    if !handle.disk.tick(&mut state, handle.main_db) {
        return ffi::SQLITE_IOERR_WRITE;
    }
    if let Some((id, _)) = &handle.file {
        let (offset, len) = (offset as u64, amount as u64);
        if let Err(rc) = state.save(*id, real_of(file), offset, len) {
            return rc;
        }
    }
    // The lock is held until the write is done, so a cut cannot slip in
    // between the count and the write.
    real_call!(real_of(file), xWrite, buf, amount, offset)
}

unsafe extern "C" fn x_truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: SQLite only calls I/O methods on a file it opened.
    let handle = unsafe { handle_of(file) };
    let mut state = handle.disk.lock();
    if !handle.disk.tick(&mut state, false) {
        return ffi::SQLITE_IOERR_TRUNCATE;
    }
    let real = real_of(file);
    if let Some((id, _)) = &handle.file {
        let size = u64::try_from(size).unwrap_or(0);
        let current = match real.size() {
            Ok(current) => current,
            Err(rc) => return rc,
        };
        if let Err(rc) = state.save(*id, real, size, current.saturating_sub(size)) {
            return rc;
        }
    }
    real_call!(real, xTruncate, size)
}

unsafe extern "C" fn x_sync(file: *mut ffi::sqlite3_file, _flags: c_int) -> c_int {
    // SAFETY: SQLite only calls I/O methods on a file it opened.
    let handle = unsafe { handle_of(file) };
    let mut state = handle.disk.lock();
    if !handle.disk.tick(&mut state, false) {
        return ffi::SQLITE_IOERR_FSYNC;
    }
    let Some((id, path)) = &handle.file else {
        return ffi::SQLITE_OK;
    };
    let size = match real_of(file).size() {
        Ok(size) => size,
        Err(rc) => return rc,
    };
    if let Some(synced) = state.files.get_mut(id) {
        synced.synced_len = size;
        synced.undo.clear();
        synced.saved.clear();
    }
    if handle.dir_sync.swap(false, Ordering::SeqCst)
        && let Some(dir) = path.parent()
    {
        state.sync_dir(dir);
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    real_call!(real_of(file), xFileSize, size)
}

unsafe extern "C" fn x_lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    real_call!(real_of(file), xLock, level)
}

unsafe extern "C" fn x_unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    real_call!(real_of(file), xUnlock, level)
}

unsafe extern "C" fn x_check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    real_call!(real_of(file), xCheckReservedLock, out)
}

unsafe extern "C" fn x_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    if op == ffi::SQLITE_FCNTL_SIZE_HINT {
        return ffi::SQLITE_OK; // a hint only; it must not grow the file behind xWrite
    }
    real_call!(real_of(file), xFileControl, op, arg)
}

unsafe extern "C" fn x_sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    real_call!(real_of(file), xSectorSize)
}

unsafe extern "C" fn x_device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    real_call!(real_of(file), xDeviceCharacteristics)
}

unsafe extern "C" fn x_shm_map(
    file: *mut ffi::sqlite3_file,
    page: c_int,
    page_size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    real_call!(real_of(file), xShmMap, page, page_size, extend, out)
}

unsafe extern "C" fn x_shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    real_call!(real_of(file), xShmLock, offset, n, flags)
}

unsafe extern "C" fn x_shm_barrier(file: *mut ffi::sqlite3_file) {
    let real = real_of(file);
    // SAFETY: as in `real_call!`.
    if let Some(barrier) = unsafe { (*(*real.0).pMethods).xShmBarrier } {
        unsafe { barrier(real.0) }
    }
}

unsafe extern "C" fn x_shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    real_call!(real_of(file), xShmUnmap, delete)
}

unsafe extern "C" fn x_delete(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: *const c_char,
    sync_dir: c_int,
) -> c_int {
    // SAFETY: SQLite calls our xDelete with our VFS.
    let disk = unsafe { disk_of(vfs) };
    let mut state = disk.lock();
    if !disk.tick(&mut state, false) {
        return ffi::SQLITE_IOERR_DELETE;
    }
    let Some(path) = path_of(z_name) else {
        return ffi::SQLITE_IOERR_DELETE;
    };
    let aside_n = state.next_aside;
    state.next_aside += 1;
    let name = state.name(&path, false);
    let rc = match (&name.durable, name.now) {
        // The file at this name is durable: keep it aside until the
        // directory is synced (a cut brings it back).
        (Durable::Now, Some(file)) => {
            let mut aside = path.clone().into_os_string();
            aside.push(format!(".powerloss-deleted-{aside_n}"));
            let aside = PathBuf::from(aside);
            match std::fs::rename(&path, &aside) {
                Ok(()) => {
                    name.durable = Durable::Deleted { aside, file };
                    name.now = None;
                    ffi::SQLITE_OK
                }
                Err(_) => ffi::SQLITE_IOERR_DELETE,
            }
        }
        // Not durable (or nothing there): a cut would lose it anyway.
        _ => {
            name.now = None;
            // SAFETY: the live unix VFS, with SQLite's own name argument; we
            // model the directory sync ourselves (below), so none is asked for.
            match unsafe { (*disk.real).xDelete } {
                Some(delete) => unsafe { delete(disk.real, z_name, 0) },
                None => ffi::SQLITE_IOERR_DELETE,
            }
        }
    };
    if rc == ffi::SQLITE_OK
        && sync_dir & 1 != 0
        && let Some(dir) = path.parent()
    {
        state.sync_dir(dir);
    }
    rc
}

/// Calls VFS method `$method` of the `unix` VFS behind ours, or `$none`.
macro_rules! real_vfs_call {
    ($vfs:expr, $method:ident, $none:expr $(, $arg:expr)*) => {{
        // SAFETY: SQLite calls our VFS methods with our VFS; `real` is the
        // live unix VFS, and the arguments are SQLite's own, passed on.
        let real = unsafe { disk_of($vfs) }.real;
        match unsafe { (*real).$method } {
            Some(method) => unsafe { method(real $(, $arg)*) },
            None => $none,
        }
    }};
}

unsafe extern "C" fn x_access(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: *const c_char,
    flags: c_int,
    out: *mut c_int,
) -> c_int {
    real_vfs_call!(vfs, xAccess, ffi::SQLITE_IOERR_ACCESS, z_name, flags, out)
}

unsafe extern "C" fn x_full_pathname(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: *const c_char,
    n_out: c_int,
    z_out: *mut c_char,
) -> c_int {
    real_vfs_call!(
        vfs,
        xFullPathname,
        ffi::SQLITE_CANTOPEN,
        z_name,
        n_out,
        z_out
    )
}

unsafe extern "C" fn x_dl_open(vfs: *mut ffi::sqlite3_vfs, z_name: *const c_char) -> *mut c_void {
    real_vfs_call!(vfs, xDlOpen, std::ptr::null_mut(), z_name)
}

unsafe extern "C" fn x_dl_error(vfs: *mut ffi::sqlite3_vfs, n: c_int, z_out: *mut c_char) {
    real_vfs_call!(vfs, xDlError, (), n, z_out)
}

type DlSym = Option<unsafe extern "C" fn(*mut ffi::sqlite3_vfs, *mut c_void, *const c_char)>;

unsafe extern "C" fn x_dl_sym(
    vfs: *mut ffi::sqlite3_vfs,
    lib: *mut c_void,
    symbol: *const c_char,
) -> DlSym {
    real_vfs_call!(vfs, xDlSym, None, lib, symbol)
}

unsafe extern "C" fn x_dl_close(vfs: *mut ffi::sqlite3_vfs, lib: *mut c_void) {
    real_vfs_call!(vfs, xDlClose, (), lib)
}

unsafe extern "C" fn x_randomness(vfs: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) -> c_int {
    real_vfs_call!(vfs, xRandomness, 0, n, out)
}

unsafe extern "C" fn x_sleep(vfs: *mut ffi::sqlite3_vfs, micros: c_int) -> c_int {
    real_vfs_call!(vfs, xSleep, 0, micros)
}

unsafe extern "C" fn x_current_time(vfs: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    real_vfs_call!(vfs, xCurrentTime, ffi::SQLITE_ERROR, out)
}

unsafe extern "C" fn x_get_last_error(
    vfs: *mut ffi::sqlite3_vfs,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    real_vfs_call!(vfs, xGetLastError, 0, n, out)
}

unsafe extern "C" fn x_current_time_int64(vfs: *mut ffi::sqlite3_vfs, out: *mut i64) -> c_int {
    real_vfs_call!(vfs, xCurrentTimeInt64, ffi::SQLITE_ERROR, out)
}
