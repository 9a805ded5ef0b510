//! Compiled screen patterns, shared by every agent that uses the same one.
//!
//! A preset gives each of its agents the same prompt, dialog, busy and
//! paste patterns, and compiling them anew per agent cost ~0.4 MB of the
//! broker's heap per agent (`benchmarks/profiles/memory-idle.md`). A
//! `Regex` clone shares its compiled program, so the second agent of a
//! preset costs a clone.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::Regex;

/// Distinct patterns kept. Past it a pattern is compiled and not kept, so
/// spawns that each bring patterns of their own cannot grow the cache
/// without bound.
const KEPT: usize = 512;

static COMPILED: LazyLock<Mutex<HashMap<String, Regex>>> = LazyLock::new(Mutex::default);

/// `pattern` compiled, shared with every earlier caller of the same text.
pub fn shared(pattern: &str) -> Result<Regex, regex::Error> {
    // A panic while holding the lock leaves a map of whole regexes.
    let mut kept = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(re) = kept.get(pattern) {
        return Ok(re.clone());
    }
    let re = Regex::new(pattern)?;
    if kept.len() < KEPT {
        kept.insert(pattern.to_string(), re.clone());
    }
    Ok(re)
}

/// Whether `pattern` is kept, so that the next caller shares it.
pub fn is_kept(pattern: &str) -> bool {
    let kept = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
    kept.contains_key(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_is_compiled_once_and_matches_for_every_caller() {
        let pattern = r"(?m)^compiled-once-test \$ $";
        assert!(!is_kept(pattern));
        let first = shared(pattern).expect("valid");
        assert!(is_kept(pattern), "the next caller would compile it again");
        let second = shared(pattern).expect("valid");
        assert!(
            first.is_match("compiled-once-test $ ") && second.is_match("compiled-once-test $ ")
        );
        assert!(shared("(").is_err(), "a bad pattern is still an error");
    }
}
