//! `[segments]` in journey.toml; the flags of `journeymap segments` are the
//! same settings and override it.
//!
//! ```toml
//! [segments]
//! k = "auto"          # or a number of segments, 2 or more
//! on = "abandoned"    # abandoned | all
//! unit = "user"       # user | session
//! from_step = 2       # the funnel step an abandoning unit reached
//! seed = 0
//! ```

use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{On, Unit};

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentsSection {
    #[serde(default)]
    pub k: Option<KChoice>,
    #[serde(default)]
    pub on: Option<On>,
    #[serde(default)]
    pub unit: Option<Unit>,
    #[serde(default)]
    pub from_step: Option<usize>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// k-means restarts (default 10, at most [`super::MAX_N_INIT`]).
    #[serde(default)]
    pub n_init: Option<usize>,
    /// Units the silhouette is computed on (default 20,000).
    #[serde(default)]
    pub silhouette_sample: Option<usize>,
}

/// `k`: `auto` (try 2..8, keep the best silhouette) or a fixed number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KChoice {
    Auto,
    Fixed(usize),
}

impl FromStr for KChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim() == "auto" {
            return Ok(KChoice::Auto);
        }
        match s.trim().parse::<usize>() {
            Ok(k) if k >= 2 => Ok(KChoice::Fixed(k)),
            _ => Err(format!(
                "expected \"auto\" or a whole number of segments, 2 or more; got {s:?}"
            )),
        }
    }
}

impl Serialize for KChoice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            KChoice::Auto => s.serialize_str("auto"),
            KChoice::Fixed(k) => s.serialize_u64(*k as u64),
        }
    }
}

impl<'de> Deserialize<'de> for KChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) if n >= 2 => Ok(KChoice::Fixed(n as usize)),
            Raw::N(n) => Err(serde::de::Error::custom(format!(
                "k = {n}: expected \"auto\" or a whole number of segments, 2 or more"
            ))),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl schemars::JsonSchema for KChoice {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KChoice".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "anyOf": [ { "const": "auto" }, { "type": "integer", "minimum": 2 } ] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_from_toml_and_flags() {
        let p = |t: &str| toml::from_str::<SegmentsSection>(t).map(|s| s.k);
        assert_eq!(p("k = \"auto\"").unwrap(), Some(KChoice::Auto));
        assert_eq!(p("k = 4").unwrap(), Some(KChoice::Fixed(4)));
        assert!(p("k = 1").unwrap_err().to_string().contains("2 or more"));
        assert!(p("k = \"many\"").is_err());
        assert_eq!("5".parse::<KChoice>(), Ok(KChoice::Fixed(5)));
        let e = toml::from_str::<SegmentsSection>("on = \"abandon\"").unwrap_err();
        assert!(e.to_string().contains("abandoned"), "{e}");
    }
}
