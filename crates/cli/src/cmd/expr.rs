//! `tenantsync expr`: evaluate, check and list attribute-mapping expressions.
//! Needs no data directory; the logic lives in `tenantsync_expression::cli`.
use crate::failure::{CliCode, Failure};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use tenantsync_expression::cli::{EvalArgs, check_cmd, eval, functions_cmd};
use tenantsync_expression::{Env, OsRandom, SystemClock};

#[derive(Debug, Subcommand)]
pub enum ExprCmd {
    /// Evaluate an expression against attribute values (absent attributes are NULL).
    Eval {
        /// The expression, e.g. 'ToLower(Join("@", [givenName], "contoso.com"))'.
        expression: String,
        /// NAME=VALUE, repeatable; a repeated name makes a multi-valued attribute.
        #[arg(long = "attr", value_name = "NAME=VALUE")]
        attr: Vec<String>,
        /// A JSON object of attribute name to string, array of strings, or null.
        #[arg(long, value_name = "FILE.json")]
        input: Option<PathBuf>,
    },
    /// Check an expression's syntax, function names and argument counts without evaluating it.
    Check {
        /// The expression, e.g. 'Join("@", [mailNickname], "contoso.com")'.
        expression: String,
    },
    /// List the functions with their signatures.
    Functions,
}

pub fn run(cmd: &ExprCmd, json: bool) -> Result<ExitCode, Failure> {
    let out = match cmd {
        ExprCmd::Eval { expression, attr, input } => {
            let input_json = match input {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .map_err(|e| Failure::cli(format!("--input '{}'", path.display()), e.to_string(), CliCode::InvalidArgument))?,
                ),
                None => None,
            };
            let args = EvalArgs { expression: expression.clone(), attrs: attr.clone(), input_json, json };
            let mut random = OsRandom;
            let mut env = Env::new(&SystemClock, &mut random);
            eval(&args, &mut env)
        }
        ExprCmd::Check { expression } => check_cmd(expression, json),
        ExprCmd::Functions => functions_cmd(json),
    };
    crate::output::text(&out.stdout);
    if out.code != 0 {
        crate::output::error(format_args!("error: {}", out.stderr.replace('\n', " ")));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
