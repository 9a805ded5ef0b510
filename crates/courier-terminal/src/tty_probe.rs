//! STUB until the real probe lands (same API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TtyState {
    pub canonical: bool,
    pub echo: bool,
    pub foreground_pgid: Option<i32>,
    pub foreground_reading: bool,
}
pub fn probe(_pid: u32) -> Option<TtyState> {
    None
}
pub fn waits_for_a_line(state: &TtyState) -> bool {
    state.canonical && state.foreground_reading
}
