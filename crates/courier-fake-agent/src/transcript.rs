//! The transcript file: one JSON line per submitted message, fsync'd before the screen shows it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub struct Transcript {
    path: PathBuf,
    file: File,
}

impl Transcript {
    /// Opens (creating if needed) `path` for appending.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `{"n":n,"text":text}` and fsyncs.
    pub fn record(&mut self, n: usize, text: &str) -> io::Result<()> {
        self.record_line(json_line(n, text))
    }

    /// Appends one JSON object (a line of its own) and fsyncs.
    pub fn record_value(&mut self, value: &serde_json::Value) -> io::Result<()> {
        self.record_line(value.to_string())
    }

    fn record_line(&mut self, mut line: String) -> io::Result<()> {
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.flush()?;
        self.file.sync_all()
    }
}

/// The JSON object for one submission (no trailing newline).
pub fn json_line(n: usize, text: &str) -> String {
    serde_json::json!({ "n": n, "text": text }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_json_lines() -> io::Result<()> {
        let dir =
            std::env::temp_dir().join(format!("fake-agent-transcript-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let p = dir.join("t.jsonl");
        let _ = std::fs::remove_file(&p);
        let mut t = Transcript::open(&p)?;
        t.record(1, "a \"b\"\nc")?;
        t.record(2, "❯")?;
        let s = std::fs::read_to_string(&p)?;
        assert_eq!(
            s,
            "{\"n\":1,\"text\":\"a \\\"b\\\"\\nc\"}\n{\"n\":2,\"text\":\"❯\"}\n"
        );
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
