use clap::Parser;

use journeymap::cli::{self, Cli};
use journeymap::error;

fn main() {
    let cli = Cli::parse();
    if let Err(err) = cli::run(&cli) {
        eprintln!("error: {err:#}");
        std::process::exit(error::exit_code(&err));
    }
}
