//! Checking a store file without opening it for writing: what `courier
//! doctor` runs, safe while a broker holds the file (WAL readers do not
//! block the writer).

use std::path::Path;

use crate::error::{SqlContext, StoreError};

/// SQLite's `quick_check` on a read-only connection: an empty list when the
/// file is sound, else the problems it names (at most `max`).
pub fn quick_check(path: &Path, max: usize) -> Result<Vec<String>, StoreError> {
    let conn = crate::schema::open_reader(path, None)?;
    let mut stmt = conn
        .prepare(&format!("PRAGMA quick_check({})", max.max(1)))
        .during(path, "checking the store")?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .during(path, "checking the store")?;
    let mut problems = Vec::new();
    for row in rows {
        let line = row.during(path, "checking the store")?;
        if line != "ok" {
            problems.push(line);
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sound_store_has_no_problems_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(crate::Store::open(&path, crate::StoreOptions::default()).unwrap());
        assert_eq!(quick_check(&path, 10).unwrap(), Vec::<String>::new());
        let bad = dir.path().join("bad.db");
        std::fs::write(&bad, vec![0x42; 8192]).unwrap();
        assert!(quick_check(&bad, 10).is_err());
    }
}
