//! The FFI side of the power-loss VFS: the `sqlite3_vfs` and
//! `sqlite3_io_methods` callbacks that [`Disk::register`] installs. Each one
//! finds its `Disk` (the VFS's `pAppData`) or its `Handle` (behind the
//! `sqlite3_file` SQLite allocated), hands the real work to SQLite's `unix`
//! VFS, and reports what changed the disk to the model in `vfs.rs`.
//!
//! It is a file of its own so that the model (what a disk holds after a cut,
//! safe Rust but for registering the VFS) reads apart from the raw-pointer
//! plumbing that feeds it, where each `unsafe` block keeps its `SAFETY:`
//! comment.

use std::ffi::{c_char, c_int, c_void};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::ffi;

use crate::vfs::{DIR_SYNCED, Disk, Durable, TRACKED, path_of};

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
pub(crate) const REAL_OFFSET: usize = std::mem::size_of::<LayerFile>().next_multiple_of(8);

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
pub(crate) struct Real(*mut ffi::sqlite3_file);

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
    pub(crate) fn read(self, buf: &mut [u8], offset: u64) -> c_int {
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

pub(crate) unsafe extern "C" fn x_open(
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

pub(crate) unsafe extern "C" fn x_delete(
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

pub(crate) unsafe extern "C" fn x_access(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: *const c_char,
    flags: c_int,
    out: *mut c_int,
) -> c_int {
    real_vfs_call!(vfs, xAccess, ffi::SQLITE_IOERR_ACCESS, z_name, flags, out)
}

pub(crate) unsafe extern "C" fn x_full_pathname(
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

pub(crate) unsafe extern "C" fn x_dl_open(
    vfs: *mut ffi::sqlite3_vfs,
    z_name: *const c_char,
) -> *mut c_void {
    real_vfs_call!(vfs, xDlOpen, std::ptr::null_mut(), z_name)
}

pub(crate) unsafe extern "C" fn x_dl_error(
    vfs: *mut ffi::sqlite3_vfs,
    n: c_int,
    z_out: *mut c_char,
) {
    real_vfs_call!(vfs, xDlError, (), n, z_out)
}

type DlSym = Option<unsafe extern "C" fn(*mut ffi::sqlite3_vfs, *mut c_void, *const c_char)>;

pub(crate) unsafe extern "C" fn x_dl_sym(
    vfs: *mut ffi::sqlite3_vfs,
    lib: *mut c_void,
    symbol: *const c_char,
) -> DlSym {
    real_vfs_call!(vfs, xDlSym, None, lib, symbol)
}

pub(crate) unsafe extern "C" fn x_dl_close(vfs: *mut ffi::sqlite3_vfs, lib: *mut c_void) {
    real_vfs_call!(vfs, xDlClose, (), lib)
}

pub(crate) unsafe extern "C" fn x_randomness(
    vfs: *mut ffi::sqlite3_vfs,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    real_vfs_call!(vfs, xRandomness, 0, n, out)
}

pub(crate) unsafe extern "C" fn x_sleep(vfs: *mut ffi::sqlite3_vfs, micros: c_int) -> c_int {
    real_vfs_call!(vfs, xSleep, 0, micros)
}

pub(crate) unsafe extern "C" fn x_current_time(vfs: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    real_vfs_call!(vfs, xCurrentTime, ffi::SQLITE_ERROR, out)
}

pub(crate) unsafe extern "C" fn x_get_last_error(
    vfs: *mut ffi::sqlite3_vfs,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    real_vfs_call!(vfs, xGetLastError, 0, n, out)
}

pub(crate) unsafe extern "C" fn x_current_time_int64(
    vfs: *mut ffi::sqlite3_vfs,
    out: *mut i64,
) -> c_int {
    real_vfs_call!(vfs, xCurrentTimeInt64, ffi::SQLITE_ERROR, out)
}
