//! Eligibility rules over customer attributes: `column op value` with op
//! one of `==`, `!=`, `>=`, `<=`, `>`, `<`. Numbers compare as numbers when
//! both sides are numbers; a rule value of true/false (or yes/no...) reads
//! the attribute with the consent words (`TRUE`, `Y`, `1` are true), and an
//! attribute that is no such word fails the rule, `!=` included; other text
//! compares without regard to ASCII case (after trimming). `>`-style
//! operators need numbers on both sides. An empty attribute fails every
//! rule, `!=` included: a rule that guards a regulation must not pass
//! because a value is missing or spelled another way.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Ge,
    Le,
    Gt,
    Lt,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub column: String,
    pub op: Op,
    pub value: String,
    pub text: String,
}

/// Why a rule did not hold, for the reason trail.
#[derive(Debug, Clone, PartialEq)]
pub enum Failed {
    /// The attribute is empty.
    Missing,
    /// It holds this value.
    Value(String),
}

impl Rule {
    pub fn parse(s: &str) -> Result<Rule, String> {
        const OPS: [(&str, Op); 6] = [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">=", Op::Ge),
            ("<=", Op::Le),
            (">", Op::Gt),
            ("<", Op::Lt),
        ];
        let (at, sym, op) = OPS
            .iter()
            .filter_map(|&(sym, op)| s.find(sym).map(|at| (at, sym, op)))
            .min_by_key(|&(at, sym, _)| (at, std::cmp::Reverse(sym.len())))
            .ok_or_else(|| {
                format!("rule {s:?}: expected `column op value` with op one of == != >= <= > <")
            })?;
        let column = s[..at].trim();
        if column.ends_with(['=', '!', '<', '>']) {
            return Err(format!(
                "rule {s:?}: unknown operator; use one of == != >= <= > <"
            ));
        }
        let mut value = s[at + sym.len()..].trim();
        if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            value = &value[1..value.len() - 1];
        }
        if column.is_empty() || value.is_empty() {
            return Err(format!(
                "rule {s:?}: the column and the value must not be empty (`age >= 21`)"
            ));
        }
        if matches!(op, Op::Ge | Op::Le | Op::Gt | Op::Lt) && value.parse::<f64>().is_err() {
            return Err(format!("rule {s:?}: {sym} needs a number, not {value:?}"));
        }
        Ok(Rule {
            column: column.to_string(),
            op,
            value: value.to_string(),
            text: s.trim().to_string(),
        })
    }

    /// Whether the rule holds for an attribute value.
    pub fn eval(&self, attr: &str) -> Result<(), Failed> {
        let a = attr.trim();
        if a.is_empty() {
            return Err(Failed::Missing);
        }
        let nums = a.parse::<f64>().ok().zip(self.value.parse::<f64>().ok());
        let truth = match nums {
            None => super::sources::consent(&self.value)
                .filter(|_| !self.value.trim().is_empty())
                .map(|want| (super::sources::consent(a), want)),
            Some(_) => None,
        };
        let ok = match (self.op, nums, truth) {
            // Not a truth word ("maybe"): neither equal nor safely unequal.
            (Op::Eq | Op::Ne, None, Some((None, _))) => false,
            (Op::Eq, None, Some((Some(x), y))) => x == y,
            (Op::Ne, None, Some((Some(x), y))) => x != y,
            (Op::Eq, Some((x, y)), _) => x == y,
            (Op::Ne, Some((x, y)), _) => x != y,
            (Op::Eq, None, None) => a.eq_ignore_ascii_case(&self.value),
            (Op::Ne, None, None) => !a.eq_ignore_ascii_case(&self.value),
            (Op::Ge, Some((x, y)), _) => x >= y,
            (Op::Le, Some((x, y)), _) => x <= y,
            (Op::Gt, Some((x, y)), _) => x > y,
            (Op::Lt, Some((x, y)), _) => x < y,
            (_, None, _) => false,
        };
        if ok {
            Ok(())
        } else {
            Err(Failed::Value(a.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_evaluates() {
        let r = Rule::parse("age >= 21").unwrap();
        assert_eq!(
            (r.column.as_str(), r.op, r.value.as_str()),
            ("age", Op::Ge, "21")
        );
        assert!(r.eval("21").is_ok());
        assert_eq!(r.eval("20"), Err(Failed::Value("20".into())));
        assert_eq!(r.eval("old"), Err(Failed::Value("old".into())));
        assert_eq!(r.eval(" "), Err(Failed::Missing));
        let r = Rule::parse("vulnerable != true").unwrap();
        assert!(r.eval("false").is_ok());
        assert!(r.eval("true").is_err());
        assert_eq!(r.eval(""), Err(Failed::Missing));
        // Spellings of true are true; a word that is neither fails both ways.
        for t in ["TRUE", "True", "Y", "yes", "1", " t "] {
            assert!(r.eval(t).is_err(), "{t}");
        }
        for f in ["FALSE", "No", "n", "0"] {
            assert!(r.eval(f).is_ok(), "{f}");
        }
        assert!(r.eval("maybe").is_err());
        assert!(
            Rule::parse("vulnerable == true")
                .unwrap()
                .eval("maybe")
                .is_err()
        );
        assert!(Rule::parse("region != EU").unwrap().eval("eu").is_err());
        assert!(
            Rule::parse("age =< 70")
                .unwrap_err()
                .contains("unknown operator")
        );
        let r = Rule::parse("segment == \"mass market\"").unwrap();
        assert!(r.eval("mass market").is_ok());
        assert_eq!(Rule::parse("a<=3").unwrap().op, Op::Le);
        assert_eq!(Rule::parse("a < 3").unwrap().op, Op::Lt);
        assert!(Rule::parse("age").is_err());
        assert!(Rule::parse(">= 3").is_err());
        assert!(Rule::parse("age >= old").is_err());
        assert!(Rule::parse("x ==").is_err());
    }
}
