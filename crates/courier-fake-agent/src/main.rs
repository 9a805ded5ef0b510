//! The `courier-fake-agent` binary; see the library for everything.

fn main() -> std::process::ExitCode {
    courier_fake_agent::run(std::env::args_os())
}
