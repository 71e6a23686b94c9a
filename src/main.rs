use clap::Parser;

use journeymap::cli::{self, Cli};
use journeymap::error;

fn main() {
    tune_malloc();
    error_guard();
    let cli = Cli::parse_from(cli::normalize_args(std::env::args_os().collect()));
    if let Err(err) = cli::run(&cli) {
        // The reader of our stdout went away (`| head`): stop quietly, as
        // other Unix tools do.
        if error::is_broken_pipe(&err) {
            std::process::exit(error::EXIT_OK);
        }
        eprintln!("error: {err:#}");
        std::process::exit(error::exit_code(&err));
    }
}

fn error_guard() {
    journeymap::guard::install();
}

/// glibc hands every freed block above its (adaptive) mmap threshold, and
/// the free top of the heap, back to the kernel, and the next allocation
/// faults the pages in again. A run frees and reallocates large buffers all
/// the time (a decoded Parquet batch, a fold's matrix), so on 10M events
/// that was a quarter of a report's time in the kernel. Keeping freed memory
/// for reuse: report 4.55 s -> 4.1-4.5 s (system time 1.3 s -> 0.8 s),
/// `inspect` 1.81 s -> 1.49 s, for 0.1-0.3 GiB more peak memory.
///
/// Kept memory is per arena, and glibc gives each new thread its own arena
/// up to 8 per core: with 16 cores the 10M-event report peaked at 1.55-1.65
/// GiB. Four arenas shared by all threads: 1.11-1.17 GiB there at the same
/// speed, and on 2 cores 1.09-1.12 GiB instead of 1.22-1.26 GiB with less
/// system time (Parquet report 3.32-3.55 s vs 3.66-3.90 s).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}
