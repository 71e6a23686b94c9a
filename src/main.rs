use clap::Parser;

use journeymap::cli::{self, Cli};
use journeymap::error;

// The run allocates and frees many large buffers (decoded Parquet batches,
// per-analysis matrices); glibc's allocator hands each back to the kernel and
// faults it in again, which was a sixth of a report's CPU time.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    if let Err(err) = cli::run(&cli) {
        eprintln!("error: {err:#}");
        std::process::exit(error::exit_code(&err));
    }
}
