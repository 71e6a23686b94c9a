//! Sentences stored in report.json that name data (a label definition, a
//! feature's description, a note): our words with each name in backticks,
//! as people read them in the JSON. [`code`] writes a name so that a
//! backtick or backslash inside it cannot end it early; [`parse`] reads the
//! sentence back into spans, so every backend escapes the names its own way.

use super::{Line, Span};

/// A data name inside a stored sentence: `` `name` ``, with `` ` `` and `\`
/// in the name written `` \` `` and `\\`.
pub fn code(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        if c == '`' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('`');
    out
}

/// The spans of a sentence written with [`code`].
pub fn parse(s: &str) -> Line {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '`' {
            text.push(c);
            continue;
        }
        let mut name = String::new();
        let mut closed = false;
        while let Some(n) = chars.next() {
            match n {
                '\\' => name.extend(chars.next()),
                '`' => {
                    closed = true;
                    break;
                }
                n => name.push(n),
            }
        }
        if !text.is_empty() {
            out.push(Span::Text(std::mem::take(&mut text)));
        }
        out.push(if closed {
            Span::Name(name)
        } else {
            // An unclosed backtick: keep what follows as data, not as our words.
            Span::Data(format!("`{name}"))
        });
    }
    if !text.is_empty() {
        out.push(Span::Text(text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_whatever_they_hold() {
        for name in ["view_cart", "a`b", "c\\d", "``", "<script>", "x|y\nz"] {
            let s = format!("did {} twice", code(name));
            assert_eq!(
                parse(&s),
                vec![
                    Span::Text("did ".into()),
                    Span::Name(name.into()),
                    Span::Text(" twice".into())
                ],
                "{name:?}"
            );
        }
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(
            parse("odd `tail"),
            vec![Span::Text("odd ".into()), Span::Data("`tail".into())]
        );
    }
}
