//! `journeymap completions` and `journeymap man`: generated from the clap
//! definitions, so they always match the commands and flags.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, out};

/// Print a shell completion script for journeymap to stdout.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap completions bash > ~/.local/share/bash-completion/completions/journeymap
  journeymap completions zsh > ~/.zfunc/_journeymap      # with fpath+=~/.zfunc
  journeymap completions fish > ~/.config/fish/completions/journeymap.fish")]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell
    pub shell: Shell,
}

pub fn completions(args: &CompletionsArgs) -> Result<()> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "journeymap", &mut buf);
    out(&String::from_utf8_lossy(&buf))?;
    Ok(())
}

/// Print journeymap's man page (roff) to stdout, or write one page per
/// command into a directory.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap man | man -l -
  journeymap man --out /usr/local/share/man/man1   # journeymap.1, journeymap-report.1, ...")]
pub struct ManArgs {
    /// Write journeymap.1 and journeymap-<command>.1 for every command into this directory
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The page of one command (the top-level one when `sub` is `None`).
pub fn page(sub: Option<&str>) -> Result<Vec<u8>> {
    let root = Cli::command();
    let cmd = match sub {
        None => root,
        Some(name) => root
            .find_subcommand(name)
            .cloned()
            .with_context(|| format!("no command {name}"))?
            // clap names are &'static str without its `string` feature; one
            // short string per page printed.
            .name(&*Box::leak(format!("journeymap-{name}").into_boxed_str())),
    };
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut buf)?;
    Ok(buf)
}

pub fn man(args: &ManArgs) -> Result<()> {
    let Some(dir) = &args.out else {
        out(&String::from_utf8_lossy(&page(None)?))?;
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut names = vec![None];
    names.extend(
        Cli::command()
            .get_subcommands()
            .map(|c| Some(c.get_name().to_string())),
    );
    for name in names {
        let file = match &name {
            None => "journeymap.1".to_string(),
            Some(n) => format!("journeymap-{n}.1"),
        };
        let path = dir.join(&file);
        crate::atomic::write_bytes(&path, &page(name.as_deref())?)?;
        super::outln(&format!("wrote {}", path.display()))?;
    }
    Ok(())
}
