//! `tenantsync expr`: evaluate, check and list attribute-mapping expressions.
//! Needs no data directory; the logic lives in `tenantsync_expression::cli`.
use crate::cli::ExprCmd;
use crate::failure::Failure;
use std::process::ExitCode;
use tenantsync_expression::cli::{EvalArgs, check_cmd, eval, functions_cmd};
use tenantsync_expression::{Env, OsRandom, SystemClock};

pub fn run(cmd: &ExprCmd, json: bool) -> Result<ExitCode, Failure> {
    let out = match cmd {
        ExprCmd::Eval { expression, attr, input } => {
            let input_json = match input {
                Some(path) => {
                    Some(std::fs::read_to_string(path).map_err(|e| Failure::new(format!("--input '{}'", path.display()), e.to_string(), "invalid_argument"))?)
                }
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
    print!("{}", out.stdout);
    if out.code != 0 {
        eprintln!("error: {}", out.stderr.replace('\n', " "));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
