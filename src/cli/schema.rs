//! `journeymap schema`: the JSON Schema of report.json, generated from the types.

use anyhow::Result;
use clap::Args;

/// Print the JSON Schema (draft 2020-12) of report.json; docs/report.schema.json is this output.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  journeymap schema > report.schema.json")]
pub struct SchemaArgs {}

pub fn schema_json() -> String {
    let schema = schemars::schema_for!(crate::report::Report);
    let mut s = serde_json::to_string_pretty(&schema).expect("a schema always serializes");
    s.push('\n');
    s
}

pub fn run(_args: &SchemaArgs) -> Result<()> {
    super::out(&schema_json())?;
    Ok(())
}
