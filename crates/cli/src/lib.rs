//! The tenantsync command line: argument parsing, wiring of the store, and the
//! commands. The binary (`main.rs`) only calls [`run`].

pub mod cli;
pub mod cmd;
pub mod failure;
pub mod generate;
pub mod import;
pub mod output;

pub use failure::Failure;

/// mimalloc instead of the system allocator: a sync cycle allocates and frees per user
/// on one thread what another thread made (records built by the planner are freed after
/// the writer thread commits them), where glibc's arenas spent a fifth of the cycle's
/// time. Declared in the library so the binary, its tests and its benchmarks all use it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use std::process::ExitCode;

/// Parses the arguments, runs the command, prints any failure on one line, and returns
/// the process exit code (0 success, 1 error, 2 changes pending).
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cmd::dispatch(cli)) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(1)
        }
    }
}
