//! Lexer, recursive-descent parser and printer for the expression syntax
//! (grammar in the crate documentation and in docs/expression-language.md).

use std::fmt;

use crate::error::{Error, did_you_mean};
use crate::functions::{self, Func, FunctionSpec};

/// Longest accepted expression, in characters (Entra's documented limit).
pub const MAX_LENGTH: usize = 10_000;
/// Deepest accepted nesting of calls and comparisons.
pub const MAX_DEPTH: usize = 100;

/// A comparison operator inside a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }
}

/// The bare enum identifiers of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumConst {
    /// `vbBinaryCompare`: ordinal, case-sensitive.
    VbBinaryCompare,
    /// `vbTextCompare`: case-insensitive.
    VbTextCompare,
}

impl EnumConst {
    const ALL: [(&'static str, EnumConst); 2] = [("vbBinaryCompare", EnumConst::VbBinaryCompare), ("vbTextCompare", EnumConst::VbTextCompare)];

    /// The identifier as written.
    pub fn as_str(self) -> &'static str {
        match self {
            EnumConst::VbBinaryCompare => "vbBinaryCompare",
            EnumConst::VbTextCompare => "vbTextCompare",
        }
    }
}

/// A parsed expression node with the character position where it starts.
/// Equality ignores positions.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// 0-based character offset of the node in the source text.
    pub position: usize,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

/// The kinds of expression node.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `"text"`.
    Str(String),
    /// `42`, `-10`, `&HF7`.
    Int(i64),
    /// `[attributeName]`.
    Attr(String),
    /// `vbTextCompare` / `vbBinaryCompare`.
    Enum(EnumConst),
    /// `Name(arg, , arg)`; `None` is an omitted position.
    Call {
        /// Which function.
        func: Func,
        /// Argument positions, `None` where left empty.
        args: Vec<Option<Expr>>,
    },
    /// `left op right`.
    Compare {
        /// Operator.
        op: CmpOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
}

impl Expr {
    /// Names of the attributes referenced anywhere in the expression, in order of first use.
    pub fn attributes(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let ExprKind::Attr(name) = &e.kind
                && !out.contains(&name.as_str())
            {
                out.push(name.as_str());
            }
        });
        out
    }

    fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Call { args, .. } => {
                for a in args.iter().flatten() {
                    a.walk(f);
                }
            }
            ExprKind::Compare { left, right, .. } => {
                left.walk(f);
                right.walk(f);
            }
            _ => {}
        }
    }
}

/// Writes a string constant with the escapes the parser reads back.
pub(crate) fn write_string(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        if c == '"' || c == '\\' {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Str(s) => write_string(f, s),
            ExprKind::Int(i) => write!(f, "{i}"),
            ExprKind::Attr(a) => write!(f, "[{a}]"),
            ExprKind::Enum(e) => f.write_str(e.as_str()),
            ExprKind::Call { func, args } => {
                write!(f, "{}(", functions::spec(*func).name)?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if let Some(a) = a {
                        write!(f, "{a}")?;
                    }
                }
                f.write_str(")")
            }
            ExprKind::Compare { op, left, right } => write!(f, "{left} {} {right}", op.as_str()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    Str(String),
    Int(i64),
    Attr(String),
    Ident(String),
    Op(CmpOp),
    End,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Str(s) => {
            let mut out = String::new();
            let short: String = s.chars().take(30).collect();
            let _ = write_string(&mut out, &short);
            format!("string {out}")
        }
        Tok::Int(i) => format!("number {i}"),
        Tok::Attr(a) => format!("attribute [{a}]"),
        Tok::Ident(i) => format!("name `{i}`"),
        Tok::Op(o) => format!("operator '{}'", o.as_str()),
        Tok::End => "end of expression".into(),
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn peek_char(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    /// Next token and its position.
    fn next(&mut self) -> Result<(Tok, usize), Error> {
        while self.peek_char(0).is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(c) = self.peek_char(0) else {
            return Ok((Tok::End, start));
        };
        self.pos += 1;
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '=' => Tok::Op(CmpOp::Eq),
            '<' => match self.peek_char(0) {
                Some('>') => {
                    self.pos += 1;
                    Tok::Op(CmpOp::Ne)
                }
                Some('=') => {
                    self.pos += 1;
                    Tok::Op(CmpOp::Le)
                }
                _ => Tok::Op(CmpOp::Lt),
            },
            '>' => {
                if self.peek_char(0) == Some('=') {
                    self.pos += 1;
                    Tok::Op(CmpOp::Ge)
                } else {
                    Tok::Op(CmpOp::Gt)
                }
            }
            '"' => {
                let mut s = String::new();
                loop {
                    match self.peek_char(0) {
                        None => return Err(Error::UnterminatedString { position: start }),
                        Some('"') => {
                            self.pos += 1;
                            break;
                        }
                        Some('\\') => {
                            // `\"` and `\\` are escapes; any other backslash is kept as
                            // written (so "\d" means the two characters \d, as admins expect
                            // in regex patterns).
                            match self.peek_char(1) {
                                Some(e @ ('"' | '\\')) => {
                                    s.push(e);
                                    self.pos += 2;
                                }
                                _ => {
                                    s.push('\\');
                                    self.pos += 1;
                                }
                            }
                        }
                        Some(ch) => {
                            s.push(ch);
                            self.pos += 1;
                        }
                    }
                }
                Tok::Str(s)
            }
            '[' => {
                let mut name = String::new();
                loop {
                    match self.peek_char(0) {
                        None => return Err(Error::UnterminatedAttribute { position: start }),
                        Some(']') => {
                            self.pos += 1;
                            break;
                        }
                        Some(ch) => {
                            name.push(ch);
                            self.pos += 1;
                        }
                    }
                }
                if name.trim().is_empty() {
                    return Err(Error::EmptyAttribute { position: start });
                }
                Tok::Attr(name)
            }
            '&' if matches!(self.peek_char(0), Some('H' | 'h')) => {
                self.pos += 1;
                let digits_start = self.pos;
                while self.peek_char(0).is_some_and(|c| c.is_ascii_hexdigit()) {
                    self.pos += 1;
                }
                let text: String = self.chars.get(digits_start..self.pos).unwrap_or_default().iter().collect();
                if text.is_empty() {
                    return Err(Error::UnexpectedToken {
                        position: start,
                        expected: "hexadecimal digits after &H".into(),
                        found: self.peek_char(0).map_or_else(|| "end of expression".into(), |c| format!("{c:?}")),
                    });
                }
                // VB: &H literals are 64-bit two's complement when they use all 16 digits.
                let v = u64::from_str_radix(&text, 16).map_err(|_| Error::InvalidNumber { position: start, text: format!("&H{text}") })?;
                Tok::Int(v as i64)
            }
            '-' | '0'..='9' => {
                let neg = c == '-';
                let digits_start = if neg { self.pos } else { self.pos - 1 };
                while self.peek_char(0).is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let text: String = self.chars.get(digits_start..self.pos).unwrap_or_default().iter().collect();
                if text.is_empty() {
                    return Err(Error::UnexpectedToken {
                        position: start,
                        expected: "a number after '-'".into(),
                        found: self.peek_char(0).map_or_else(|| "end of expression".into(), |c| format!("{c:?}")),
                    });
                }
                let full = if neg { format!("-{text}") } else { text };
                let v = full.parse::<i64>().map_err(|_| Error::InvalidNumber { position: start, text: full.clone() })?;
                Tok::Int(v)
            }
            c if c.is_alphabetic() || c == '_' => {
                while self.peek_char(0).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.pos += 1;
                }
                Tok::Ident(self.chars.get(start..self.pos).unwrap_or_default().iter().collect())
            }
            other => {
                return Err(Error::UnexpectedToken {
                    position: start,
                    expected: "a function call, [attribute], \"string\" or number".into(),
                    found: format!("{other:?}"),
                });
            }
        };
        Ok((tok, start))
    }
}

struct Parser {
    lexer: Lexer,
    tok: Tok,
    tok_pos: usize,
}

impl Parser {
    fn bump(&mut self) -> Result<(), Error> {
        let (t, p) = self.lexer.next()?;
        self.tok = t;
        self.tok_pos = p;
        Ok(())
    }

    fn unexpected(&self, expected: impl Into<String>) -> Error {
        Error::UnexpectedToken { position: self.tok_pos, expected: expected.into(), found: describe(&self.tok) }
    }

    /// argument := operand [ cmpop operand ]
    fn argument(&mut self, depth: usize) -> Result<Expr, Error> {
        let left = self.operand(depth)?;
        if let Tok::Op(op) = self.tok {
            let pos = self.tok_pos;
            if depth + 1 > MAX_DEPTH {
                return Err(Error::TooDeep { position: pos, limit: MAX_DEPTH });
            }
            self.bump()?;
            let right = self.operand(depth + 1)?;
            if let Tok::Op(_) = self.tok {
                return Err(self.unexpected("',' or ')' (comparisons cannot be chained; nest IIF instead)"));
            }
            return Ok(Expr { position: left.position, kind: ExprKind::Compare { op, left: Box::new(left), right: Box::new(right) } });
        }
        Ok(left)
    }

    fn operand(&mut self, depth: usize) -> Result<Expr, Error> {
        let position = self.tok_pos;
        let tok = std::mem::replace(&mut self.tok, Tok::End);
        let kind = match tok {
            Tok::Str(s) => {
                self.bump()?;
                ExprKind::Str(s)
            }
            Tok::Int(i) => {
                self.bump()?;
                ExprKind::Int(i)
            }
            Tok::Attr(a) => {
                self.bump()?;
                ExprKind::Attr(a)
            }
            Tok::Ident(name) => {
                self.bump()?;
                if self.tok == Tok::LParen {
                    let Some(spec) = functions::lookup(&name) else {
                        return Err(Error::UnknownFunction { position, suggestion: did_you_mean(&name, functions::FUNCTIONS.iter().map(|s| s.name)), name });
                    };
                    if depth + 1 > MAX_DEPTH {
                        return Err(Error::TooDeep { position, limit: MAX_DEPTH });
                    }
                    self.call(spec, position, depth + 1)?
                } else if let Some((_, e)) = EnumConst::ALL.iter().find(|(n, _)| *n == name) {
                    ExprKind::Enum(*e)
                } else if functions::lookup(&name).is_some() {
                    return Err(self.unexpected(format!("'(' after function name {name}")));
                } else {
                    let candidates = EnumConst::ALL.iter().map(|(n, _)| *n).chain(functions::FUNCTIONS.iter().map(|s| s.name));
                    return Err(Error::UnknownIdentifier { position, suggestion: did_you_mean(&name, candidates), name });
                }
            }
            other => {
                self.tok = other;
                return Err(self.unexpected("a function call, [attribute], \"string\" or number"));
            }
        };
        Ok(Expr { kind, position })
    }

    /// Called with the current token on '('.
    fn call(&mut self, spec: &'static FunctionSpec, position: usize, depth: usize) -> Result<ExprKind, Error> {
        let max = match spec.arity {
            crate::functions::Arity::Exact(k) | crate::functions::Arity::Range(_, k) => Some(k),
            _ => None,
        };
        self.bump()?;
        let mut args: Vec<Option<Expr>> = Vec::new();
        if self.tok == Tok::RParen {
            self.bump()?;
        } else {
            loop {
                let arg_no = args.len() + 1;
                if matches!(self.tok, Tok::Comma | Tok::RParen) {
                    args.push(None);
                } else {
                    args.push(Some(self.argument(depth)?));
                }
                match self.tok {
                    Tok::Comma => self.bump()?,
                    Tok::RParen => {
                        self.bump()?;
                        break;
                    }
                    _ => {
                        let expected = if max.is_some_and(|m| arg_no >= m) {
                            format!("')' after argument {arg_no} of {}", spec.name)
                        } else {
                            format!("',' or ')' after argument {arg_no} of {}", spec.name)
                        };
                        return Err(self.unexpected(expected));
                    }
                }
            }
        }
        if !spec.arity.accepts(args.len()) {
            return Err(Error::ArgumentCount {
                position,
                function: spec.name,
                expected: format!("{} — {}", spec.arity.describe(), spec.signature()),
                got: args.len(),
            });
        }
        for (i, a) in args.iter().enumerate() {
            if a.is_none() && !spec.position_optional(i) {
                return Err(Error::MissingArgument { position, function: spec.name, index: i + 1, parameter: spec.param_name(i) });
            }
        }
        Ok(ExprKind::Call { func: spec.func, args })
    }
}

/// Parses expression text into a syntax tree. Function names and arity are
/// checked here; attribute names are checked by [`crate::compile`].
pub fn parse(text: &str) -> Result<Expr, Error> {
    let length = text.chars().count();
    if length > MAX_LENGTH {
        return Err(Error::TooLong { length, limit: MAX_LENGTH });
    }
    if text.trim().is_empty() {
        return Err(Error::Empty);
    }
    let mut p = Parser { lexer: Lexer { chars: text.chars().collect(), pos: 0 }, tok: Tok::End, tok_pos: 0 };
    p.bump()?;
    let e = p.argument(0)?;
    if p.tok != Tok::End {
        return Err(p.unexpected("end of expression"));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        parse(s).unwrap_err().to_string()
    }

    #[test]
    fn parses_documented_shapes() {
        let e = parse(r#"Replace([mail], "@contoso.com", , ,"", ,)"#).unwrap();
        let ExprKind::Call { func, args } = &e.kind else { panic!() };
        assert_eq!(*func, Func::Replace);
        assert_eq!(args.len(), 7);
        assert!(args[2].is_none() && args[3].is_none() && args[5].is_none() && args[6].is_none());
        assert_eq!(e.to_string(), r#"Replace([mail], "@contoso.com", , , "", , )"#);
        assert_eq!(parse(&e.to_string()).unwrap(), e);

        let e = parse("BitAnd(&HF, &HF7)").unwrap();
        assert_eq!(e.to_string(), "BitAnd(15, 247)");
        let e = parse(r#"InStr("repEated","e",3,vbBinaryCompare)"#).unwrap();
        assert_eq!(e.to_string(), r#"InStr("repEated", "e", 3, vbBinaryCompare)"#);
        let e = parse(r#"IIF(DateDiff("d", Now(), CDate([x])) >= -5, "a", "b")"#).unwrap();
        assert_eq!(e.to_string(), r#"IIF(DateDiff("d", Now(), CDate([x])) >= -5, "a", "b")"#);
        assert_eq!(parse("[extension_abc123_costCenter]").unwrap().kind, ExprKind::Attr("extension_abc123_costCenter".into()));
        assert_eq!(parse(r#""Company name: \"Contoso\"""#).unwrap().kind, ExprKind::Str(r#"Company name: "Contoso""#.into()));
        assert_eq!(parse(r#""\\+(?<x>\\d)""#).unwrap().kind, ExprKind::Str(r"\+(?<x>\d)".into()));
        assert_eq!(parse(r#""\d""#).unwrap().kind, ExprKind::Str(r"\d".into()));
        let e = parse("Switch([Active], , \"1\", \"a\", \"0\", \"b\")").unwrap();
        assert_eq!(parse(&e.to_string()).unwrap(), e);
        assert_eq!(parse("Guid()").unwrap().to_string(), "Guid()");
    }

    #[test]
    fn errors_say_where_and_what() {
        assert_eq!(err(r#"Replace([mail] "x", , , , , )"#), "column 16: expected ',' or ')' after argument 1 of Replace, found string \"x\"");
        assert_eq!(err(r#"Left("John", 3 "#), "column 16: expected ')' after argument 2 of Left, found end of expression");
        assert_eq!(err("Replce([mail])"), "column 1: unknown function `Replce`; did you mean `Replace`?");
        assert_eq!(err("toLower([mail])"), "column 1: unknown function `toLower`; did you mean `ToLower`?");
        assert!(err("Left([x])").starts_with("column 1: Left takes 2 arguments"));
        assert_eq!(err("Left(, 3)"), "column 1: argument 1 of Left (String) is required and cannot be omitted");
        assert_eq!(
            err("Switch([a], \"d\", \"k\")"),
            "column 1: Switch takes an even number of arguments, at least 4 (source, defaultValue, then key/value pairs) — Switch(source, defaultValue?, key1, value1, key2, value2, ...); got 3 arguments"
        );
        assert_eq!(err("\"abc"), "column 1: string constant is not closed (missing '\"')");
        assert_eq!(err("[abc"), "column 1: attribute reference is not closed (missing ']')");
        assert_eq!(
            err("vbTextCompar"),
            "column 1: unknown name `vbTextCompar` (bare names are only vbTextCompare and vbBinaryCompare; string constants need double quotes); did you mean `vbTextCompare`?"
        );
        assert_eq!(err("[a] [b]"), "column 5: expected end of expression, found attribute [b]");
        assert_eq!(err("Now"), "column 4: expected '(' after function name Now, found end of expression");
        assert_eq!(err("  "), "expression is empty");
        assert_eq!(err("99999999999999999999"), "column 1: invalid number 99999999999999999999");
        assert_eq!(err("IIF([a] = [b] = [c], 1, 2)"), "column 15: expected ',' or ')' (comparisons cannot be chained; nest IIF instead), found operator '='");
    }

    #[test]
    fn limits() {
        let long = format!("\"{}\"", "a".repeat(MAX_LENGTH));
        assert_eq!(parse(&long).unwrap_err().code(), "expression.parse.too_long");
        assert_eq!(parse(&long).unwrap_err().to_string(), "expression is 10002 characters long; the limit is 10000");
        let exactly = format!("\"{}\"", "é".repeat(MAX_LENGTH - 2));
        assert!(parse(&exactly).is_ok(), "the limit counts characters, not bytes");
        let deep = format!("{}[a]{}", "ToLower(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(&deep).unwrap_err().code(), "expression.parse.too_deep");
        let ok = format!("{}[a]{}", "ToLower(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        // 5,000 open parens within the length limit: a clear error, no stack overflow.
        let pathological = "Not(".repeat(2_400);
        assert_eq!(parse(&pathological).unwrap_err().code(), "expression.parse.too_deep");
    }

    #[test]
    fn attributes_in_order() {
        let e = parse("Join(\".\", [b], [a], Mid([b], 1, 1))").unwrap();
        assert_eq!(e.attributes(), vec!["b", "a"]);
    }
}
