//! The bounds of a spawn request, and the error naming the field outside them.

/// Terminal size bounds (also in the OpenAPI document): the screen model
/// allocates rows × cols cells up front, so 65535 × 65535 would abort.
pub const ROWS: std::ops::RangeInclusive<u16> = 1..=500;
pub const COLS: std::ops::RangeInclusive<u16> = 1..=1000;
/// Bounds on the lists a spawn request carries. The body limit already caps
/// their bytes; these cap the per-item work (one regex compiled and run on
/// every screen change per pattern, one env entry per exec) and keep a spec
/// well inside the kernel's argument and environment size limits.
pub const MAX_ARGS: usize = 256;
pub const MAX_ENV: usize = 256;
pub const MAX_CHANNELS: usize = 64;
pub const MAX_PATTERNS: usize = 32;
pub const MAX_PATTERN_LEN: usize = 4096;

/// A spawn request outside the bounds: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct SpecLimit {
    pub field: &'static str,
    pub problem: String,
}

pub(super) fn limit(field: &'static str, problem: impl Into<String>) -> SpecLimit {
    SpecLimit {
        field,
        problem: problem.into(),
    }
}

pub(super) fn within(
    field: &'static str,
    range: &std::ops::RangeInclusive<u16>,
    value: u16,
) -> Result<(), SpecLimit> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(limit(
        field,
        format!("must be {}..={} (got {value})", range.start(), range.end()),
    ))
}

pub(super) fn at_most<T>(field: &'static str, items: &[T], max: usize) -> Result<(), SpecLimit> {
    if items.len() > max {
        return Err(limit(
            field,
            format!("at most {max} entries (got {})", items.len()),
        ));
    }
    Ok(())
}

/// NUL cannot cross exec (argv and the environment are C strings).
pub(super) fn no_nul<'a>(
    field: &'static str,
    mut items: impl Iterator<Item = &'a str>,
) -> Result<(), SpecLimit> {
    if items.any(|s| s.contains('\0')) {
        return Err(limit(field, "must not contain a NUL byte"));
    }
    Ok(())
}
