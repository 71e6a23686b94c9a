//! The manual override file (docs/overrides.md): a CSV with the header
//! `scope,id,rule,value,note`, one rule per line:
//!
//! | scope | rule           | value                      | effect |
//! |-------|----------------|----------------------------|--------|
//! | user  | `force_items`  | item ids, space-separated  | these items head the user's list |
//! | user  | `suppress`     | (empty)                    | no recommendations and no action |
//! | user  | `force_action` | an action name             | this action instead of the model's |
//! | item  | `ban`          | (empty)                    | the item is in nobody's list |
//!
//! Every problem is refused with its line: a reload with a bad file keeps
//! the previous overrides.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub force_items: BTreeMap<String, (Vec<String>, String)>,
    pub suppress: BTreeMap<String, String>,
    pub force_action: BTreeMap<String, (String, String)>,
    pub banned: BTreeSet<String>,
}

pub const HEADER: [&str; 5] = ["scope", "id", "rule", "value", "note"];

impl Overrides {
    pub fn is_empty(&self) -> bool {
        self.force_items.is_empty()
            && self.suppress.is_empty()
            && self.force_action.is_empty()
            && self.banned.is_empty()
    }

    pub fn rules(&self) -> usize {
        self.force_items.len() + self.suppress.len() + self.force_action.len() + self.banned.len()
    }

    /// Parses the file's bytes; `what` names it in messages.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Overrides, String> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(bytes);
        let header = r
            .headers()
            .map_err(|e| format!("{what}: cannot read the header: {e}"))?
            .clone();
        let names: Vec<&str> = header.iter().map(str::trim).collect();
        if names != HEADER {
            return Err(format!(
                "{what}:1: the header must be {} (found {})",
                HEADER.join(","),
                names.join(",")
            ));
        }
        let mut out = Overrides::default();
        let mut seen: BTreeSet<(String, String, String)> = BTreeSet::new();
        for (i, rec) in r.records().enumerate() {
            let line = rec
                .as_ref()
                .ok()
                .and_then(|r| r.position())
                .map_or(i as u64 + 2, |p| p.line());
            let rec = rec.map_err(|e| format!("{what}:{line}: {e}"))?;
            let f = |n: usize| rec.get(n).unwrap_or("").trim();
            let (scope, id, rule, value, note) = (f(0), f(1), f(2), f(3), f(4));
            if scope.is_empty() && id.is_empty() && rule.is_empty() {
                continue;
            }
            if id.is_empty() {
                return Err(format!("{what}:{line}: the id is empty"));
            }
            if id.len() > super::route::MAX_ID {
                return Err(format!(
                    "{what}:{line}: the id is over {} bytes",
                    super::route::MAX_ID
                ));
            }
            if !seen.insert((scope.to_string(), id.to_string(), rule.to_string())) {
                return Err(format!(
                    "{what}:{line}: {scope} {id:?} has a second {rule} rule"
                ));
            }
            let bad_value = |expect: &str| format!("{what}:{line}: {rule} takes {expect} in value");
            match (scope, rule) {
                ("user", "force_items") => {
                    let items: Vec<String> = value.split_whitespace().map(str::to_string).collect();
                    if items.is_empty() {
                        return Err(bad_value("one or more item ids, space-separated,"));
                    }
                    out.force_items.insert(id.into(), (items, note.into()));
                }
                ("user", "suppress") => {
                    if !value.is_empty() {
                        return Err(bad_value("nothing"));
                    }
                    out.suppress.insert(id.into(), note.into());
                }
                ("user", "force_action") => {
                    if value.is_empty() {
                        return Err(bad_value("the action's name"));
                    }
                    out.force_action
                        .insert(id.into(), (value.into(), note.into()));
                }
                ("item", "ban") => {
                    if !value.is_empty() {
                        return Err(bad_value("nothing"));
                    }
                    out.banned.insert(id.into());
                }
                ("user" | "item", _) => {
                    return Err(format!(
                        "{what}:{line}: unknown rule {rule:?} for scope {scope}; user rules: force_items, suppress, force_action; item rules: ban"
                    ));
                }
                _ => {
                    return Err(format!(
                        "{what}:{line}: unknown scope {scope:?}; use user or item"
                    ));
                }
            }
        }
        for (u, _) in out.suppress.iter() {
            if out.force_items.contains_key(u) || out.force_action.contains_key(u) {
                return Err(format!(
                    "{what}: user {u:?} is both suppressed and forced; keep one rule"
                ));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_rule() {
        let o = Overrides::parse(
            b"scope,id,rule,value,note\nuser,u1,force_items,b1 b2,vip\nuser,u2,suppress,,opted out\nuser,u3,force_action,call_back,\nitem,b9,ban,,recalled\n\n",
            "o.csv",
        )
        .unwrap();
        assert_eq!(o.force_items["u1"].0, vec!["b1", "b2"]);
        assert_eq!(o.suppress["u2"], "opted out");
        assert_eq!(o.force_action["u3"].0, "call_back");
        assert!(o.banned.contains("b9"));
        assert_eq!(o.rules(), 4);
    }

    #[test]
    fn refuses_with_the_line() {
        let bad = |s: &str| Overrides::parse(s.as_bytes(), "o.csv").unwrap_err();
        assert!(bad("user,id\n").contains("header"));
        assert!(bad("scope,id,rule,value,note\nuser,u1,force_items,,\n").contains("o.csv:2"));
        assert!(bad("scope,id,rule,value,note\nuser,,suppress,,\n").contains("empty"));
        assert!(bad("scope,id,rule,value,note\nshop,x,ban,,\n").contains("scope"));
        assert!(bad("scope,id,rule,value,note\nitem,x,shout,,\n").contains("unknown rule"));
        assert!(bad("scope,id,rule,value,note\nitem,x,ban,,\nitem,x,ban,,\n").contains("o.csv:3"));
        assert!(
            bad("scope,id,rule,value,note\nuser,u,suppress,,\nuser,u,force_action,a,\n")
                .contains("both")
        );
        assert!(bad("scope,id,rule,value,note\nuser,u,suppress\n").contains("o.csv:2"));
        assert!(Overrides::parse(b"\xff\xfe", "o.csv").is_err());
    }
}
