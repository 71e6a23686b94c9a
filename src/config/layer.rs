//! Flags over journey.toml, one convention for every analysis: a value
//! given on the command line wins over the config's, which wins over the
//! default, and [`Origins`] remembers which one each setting came from, so
//! a bad value is reported as "--window" or as "journey.toml:12: [funnel]
//! window", wherever the check happens.

use crate::error::UsageError;

use super::Source;

#[derive(Debug, Clone, Default)]
pub struct Origins {
    /// (setting, how to name it in a message)
    named: Vec<(&'static str, String)>,
}

/// A value checked against the rules of its setting, named by its setting
/// only; [`Origins::word`] turns it into a message naming where it was set.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamError {
    pub setting: &'static str,
    pub problem: String,
}

impl ParamError {
    pub fn new(setting: &'static str, problem: impl Into<String>) -> ParamError {
        ParamError {
            setting,
            problem: problem.into(),
        }
    }
}

impl Origins {
    /// The flag's value if given, else the config's (`section`'s `key`),
    /// else `None`; records where it came from under `setting`.
    pub fn pick<T>(
        &mut self,
        setting: &'static str,
        flag: (&str, Option<T>),
        key: (&str, Option<T>),
        source: Option<&Source>,
    ) -> Option<T> {
        match (flag.1, key.1) {
            (Some(v), _) => {
                self.named.push((setting, flag.0.to_string()));
                Some(v)
            }
            (None, Some(v)) => {
                self.named.push((setting, config_key(key.0, source)));
                Some(v)
            }
            (None, None) => {
                // A default: named by its config key, where it would be changed.
                self.named.push((setting, config_key(key.0, None)));
                None
            }
        }
    }

    /// Records that `setting` came from a config key.
    pub fn from_key(&mut self, setting: &'static str, key: &str, source: Option<&Source>) {
        self.named.push((setting, config_key(key, source)));
    }

    /// How to name `setting` in a message: its flag, its config key with
    /// file and line, or the setting's own name (a default).
    pub fn name(&self, setting: &'static str) -> String {
        self.named
            .iter()
            .rev()
            .find(|(s, _)| *s == setting)
            .map_or_else(|| setting.to_string(), |(_, n)| n.clone())
    }

    pub fn word(&self, e: ParamError) -> UsageError {
        UsageError(format!("{}: {}", self.name(e.setting), e.problem))
    }
}

/// `journey.toml:12: [funnel] window`; `key` is `section.name` (or a path
/// with indexes, `stages[1].events`).
fn config_key(key: &str, source: Option<&Source>) -> String {
    let shown = match key.split_once('.') {
        Some((section, rest)) => format!("[{section}] {rest}"),
        None => format!("[{key}]"),
    };
    match source {
        Some(s) => format!("{}{shown}", s.at(key)),
        None => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_and_messages_name_the_origin() {
        let src = Source::new("j.toml", "[funnel]\nsteps = [\"a\"]\nwindow = \"0s\"\n");
        let mut o = Origins::default();
        let w = o.pick(
            "window",
            ("--window", None),
            ("funnel.window", Some(3)),
            Some(&src),
        );
        assert_eq!(w, Some(3));
        let e = o.word(ParamError::new("window", "must be longer than zero"));
        assert_eq!(e.0, "j.toml:3: [funnel] window: must be longer than zero");
        let m = o.pick(
            "mode",
            ("--mode", Some(1)),
            ("funnel.mode", Some(2)),
            Some(&src),
        );
        assert_eq!(m, Some(1));
        assert_eq!(o.name("mode"), "--mode");
        assert_eq!(o.name("per"), "per");
        let _ = o.pick::<u8>("by", ("--by", None), ("funnel.by", None), Some(&src));
        assert_eq!(o.name("by"), "[funnel] by");
    }
}
