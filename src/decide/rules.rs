//! Eligibility rules over customer attributes: `column op value` with op
//! one of `==`, `!=`, `>=`, `<=`, `>`, `<`. Numbers compare as numbers when
//! both sides are numbers, else the text compares exactly (after trimming);
//! `>`-style operators need numbers on both sides. An empty attribute fails
//! every rule, `!=` included: a rule that guards a regulation must not pass
//! because a value is missing.

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
        let ok = match (self.op, nums) {
            (Op::Eq, Some((x, y))) => x == y,
            (Op::Ne, Some((x, y))) => x != y,
            (Op::Eq, None) => a == self.value,
            (Op::Ne, None) => a != self.value,
            (Op::Ge, Some((x, y))) => x >= y,
            (Op::Le, Some((x, y))) => x <= y,
            (Op::Gt, Some((x, y))) => x > y,
            (Op::Lt, Some((x, y))) => x < y,
            (_, None) => false,
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
