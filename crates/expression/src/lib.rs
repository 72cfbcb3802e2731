//! # tenantsync-expression
//!
//! Microsoft Entra's attribute-mapping expression language and scoping
//! filters, implemented completely and without I/O. Full reference:
//! `docs/expression-language.md`.
//!
//! ## Grammar
//!
//! ```text
//! expression  ::= argument EOF                       (at most 10,000 characters)
//! argument    ::= operand [ cmpop operand ]          (one comparison, no chaining)
//! operand     ::= call | attribute | string | integer | hex | enum
//! call        ::= Name "(" [ position { "," position } ] ")"
//! position    ::= [ argument ]                       (empty = omitted argument)
//! attribute   ::= "[" { any character except "]" }+ "]"
//! string      ::= '"' { char | '\"' | '\\' } '"'     (other backslashes are literal)
//! integer     ::= [ "-" ] digit { digit }            (64-bit)
//! hex         ::= "&H" hexdigit { hexdigit }         (VB literal, e.g. &HF7)
//! enum        ::= "vbTextCompare" | "vbBinaryCompare"
//! cmpop       ::= "=" | "<>" | ">" | ">=" | "<" | "<="
//! Name        ::= one of the 43 documented functions or AltSecIdFromNetId
//!                 (case-sensitive; arity checked at parse time)
//! ```
//! White space between tokens is ignored. Nesting is limited to
//! [`MAX_DEPTH`] levels.
//!
//! ## Use
//!
//! ```
//! use tenantsync_expression::{Env, FixedClock, Program, Schema, SeededRandom, Value};
//!
//! let schema = Schema::new(["givenName", "surname"]);
//! let program = Program::compile(
//!     r#"ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [givenName], [surname]))), "contoso.com"))"#,
//!     &schema,
//! )?;
//! let mut row = schema.row();
//! row.set(schema.slot("givenName").unwrap(), "Zoë");
//! row.set(schema.slot("surname").unwrap(), "Van Dijk");
//! let clock = FixedClock::new(jiff::Timestamp::UNIX_EPOCH);
//! let mut random = SeededRandom::new(1);
//! let result = program.evaluate(&row, &mut Env::new(&clock, &mut random))?;
//! assert_eq!(result.value, Value::from("zoe.vandijk@contoso.com"));
//! assert!(result.flows());
//! # Ok::<(), tenantsync_expression::Error>(())
//! ```

mod builtins;
pub mod cli;
mod datetime;
mod env;
mod error;
mod functions;
mod graph;
mod parser;
mod program;
mod regexes;
pub mod scoping;
mod text;
mod value;

pub use datetime::{format_general, parse_lenient as parse_date};
pub use env::{Clock, Env, FixedClock, OsRandom, RandomSource, SeededRandom, SystemClock, UniquenessCheck};
pub use error::Error;
pub use functions::{Arity, FUNCTIONS, Func, FunctionInfo, FunctionSpec, Param, function_list, lookup as lookup_function};
pub use graph::{ParseExpressionError, ParseExpressionResponse, check, parse_expression};
pub use parser::{CmpOp, EnumConst, Expr, ExprKind, MAX_DEPTH, MAX_LENGTH, parse};
pub use program::{Evaluation, Flow, Program, Row, Schema, Slot};
pub use text::{normalize_diacritics, pcase};
pub use value::Value;
