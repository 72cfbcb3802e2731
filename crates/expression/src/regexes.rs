//! Admin-supplied regular expressions: .NET syntax mapped onto Rust's
//! linear-time `regex` crate with size limits, and .NET replacement strings.
//!
//! Decisions: .NET constructs with no linear-time equivalent (look-around,
//! backreferences, atomic groups) are rejected with the regex crate's message;
//! `(?'name'…)` is rewritten to `(?<name>…)` and `\Z` to `\n?\z`.

use regex::{Captures, Regex, RegexBuilder};

/// Limit on the compiled program size (bytes).
pub const SIZE_LIMIT: usize = 1 << 20;
/// Limit on the lazy DFA cache (bytes).
pub const DFA_SIZE_LIMIT: usize = 2 << 20;
/// Limit on nesting inside a pattern.
pub const NEST_LIMIT: u32 = 64;

fn convert(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('Z') => out.push_str(r"\n?\z"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '(' if chars.peek() == Some(&'?') => {
                out.push('(');
                out.push('?');
                chars.next();
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    out.push('<');
                    for n in chars.by_ref() {
                        if n == '\'' {
                            out.push('>');
                            break;
                        }
                        out.push(n);
                    }
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Compiles a .NET-style pattern with size and nesting limits.
///
/// # Errors
/// The regex crate's message (syntax, unsupported construct, size limit).
pub fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(&convert(pattern)).size_limit(SIZE_LIMIT).dfa_size_limit(DFA_SIZE_LIMIT).nest_limit(NEST_LIMIT).build().map_err(|e| match e {
        regex::Error::CompiledTooBig(limit) => format!("pattern is too large once compiled (limit {limit} bytes)"),
        other => {
            let text = other.to_string();
            // The regex crate's syntax errors are multi-line drawings; keep the message line.
            text.lines().find_map(|l| l.trim().strip_prefix("error: ")).map_or_else(|| text.lines().map(str::trim).collect::<Vec<_>>().join(" "), str::to_owned)
        }
    })
}

/// Expands a .NET replacement string for one match:
/// `$$`, `${name}`, `$n`, `$&`, `` $` ``, `$'`, `$+`, `$_`.
pub fn expand(replacement: &str, caps: &Captures<'_>, re: &Regex, input: &str, out: &mut String) {
    let m0 = caps.get(0);
    let mut chars = replacement.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek().map(|(_, n)| *n) {
            Some('$') => {
                chars.next();
                out.push('$');
            }
            Some('&') => {
                chars.next();
                out.push_str(m0.map_or("", |m| m.as_str()));
            }
            Some('`') => {
                chars.next();
                out.push_str(input.get(..m0.map_or(0, |m| m.start())).unwrap_or(""));
            }
            Some('\'') => {
                chars.next();
                out.push_str(input.get(m0.map_or(input.len(), |m| m.end())..).unwrap_or(""));
            }
            Some('_') => {
                chars.next();
                out.push_str(input);
            }
            Some('+') => {
                chars.next();
                let last = (1..caps.len()).rev().find_map(|g| caps.get(g));
                out.push_str(last.map_or("", |m| m.as_str()));
            }
            Some('{') => {
                let rest = replacement.get(i + 2..).unwrap_or("");
                match rest.find('}') {
                    Some(end) => {
                        let name = rest.get(..end).unwrap_or("");
                        let group = if let Ok(n) = name.parse::<usize>() {
                            (n < caps.len()).then(|| caps.get(n))
                        } else {
                            re.capture_names().flatten().any(|g| g == name).then(|| caps.name(name))
                        };
                        match group {
                            Some(m) => {
                                out.push_str(m.map_or("", |m| m.as_str()));
                                // skip "{name}"
                                for _ in 0..name.chars().count() + 2 {
                                    chars.next();
                                }
                            }
                            None => out.push('$'),
                        }
                    }
                    None => out.push('$'),
                }
            }
            Some(d) if d.is_ascii_digit() => {
                // greedy while the number is still a valid group
                let mut n = 0usize;
                let mut taken = 0;
                let mut lookahead = chars.clone();
                while let Some((_, d)) = lookahead.peek().copied() {
                    let Some(v) = d.to_digit(10) else { break };
                    let candidate = n.saturating_mul(10).saturating_add(v as usize);
                    if candidate >= caps.len() {
                        break;
                    }
                    n = candidate;
                    taken += 1;
                    lookahead.next();
                }
                if taken == 0 {
                    out.push('$');
                } else {
                    for _ in 0..taken {
                        chars.next();
                    }
                    out.push_str(caps.get(n).map_or("", |m| m.as_str()));
                }
            }
            _ => out.push('$'),
        }
    }
}

/// `Regex.Replace(input, replacement)` with .NET substitutions.
pub fn replace_all(re: &Regex, input: &str, replacement: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut last = 0;
    for caps in re.captures_iter(input) {
        let Some(m) = caps.get(0) else { continue };
        out.push_str(input.get(last..m.start()).unwrap_or(""));
        expand(replacement, &caps, re, input, &mut out);
        last = m.end();
    }
    out.push_str(input.get(last..).unwrap_or(""));
    out
}

/// Replaces the text of the named group in every match with `replacement`.
pub fn replace_group(re: &Regex, input: &str, group: &str, replacement: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut last = 0;
    for caps in re.captures_iter(input) {
        if let Some(g) = caps.name(group)
            && g.start() >= last
        {
            out.push_str(input.get(last..g.start()).unwrap_or(""));
            out.push_str(replacement);
            last = g.end();
        }
    }
    out.push_str(input.get(last..).unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotnet_syntax() {
        let re = compile(r"\+(?<isdCode>\d* )(?<phoneNumber>\d{10})").unwrap();
        assert_eq!(replace_all(&re, "+91 9998887777", "${phoneNumber}"), "9998887777");
        let re = compile(r"(?'first'\w+) (?'last'\w+)").unwrap();
        assert_eq!(replace_all(&re, "John Smith", "${last}, ${first}"), "Smith, John");
        assert_eq!(replace_all(&re, "John Smith", "$2 $1 $$ $& [$`|$'] $+ $9 ${nope} $x $"), "Smith John $ John Smith [|] Smith $9 ${nope} $x $");
        let re = compile(r"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)").unwrap();
        assert_eq!(replace_all(&re, "abcdefghijk", "$11|$12"), "k|a2");
        let re = compile(r"abc\Z").unwrap();
        assert!(re.is_match("xabc\n"));
        assert!(compile(r"\@domain\.com").unwrap().is_match("a@domain.com"));
    }

    #[test]
    fn rejects_non_linear_and_huge() {
        assert!(compile(r"(?<=a)b").unwrap_err().contains("look-around"));
        assert!(compile(r"(a)\1").is_err());
        let e = compile(r"\w{1000}{1000}").unwrap_err();
        assert!(e.contains("too large") || e.contains("size"), "{e}");
        let nested = format!("{}a{}", "(".repeat(200), ")".repeat(200));
        assert!(compile(&nested).unwrap_err().contains("nest"));
    }

    #[test]
    fn group_replacement() {
        let re = compile(r"(?<streetNumber>^\d*)").unwrap();
        assert_eq!(replace_group(&re, "545 Tremont Street", "streetNumber", "888"), "888 Tremont Street");
        let re = compile(r"(?<Suffix>@(.)*)").unwrap();
        assert_eq!(replace_group(&re, "jsmith@contoso.com", "Suffix", ""), "jsmith");
    }
}
