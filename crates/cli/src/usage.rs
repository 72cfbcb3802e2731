//! Command lines clap refuses, as the CLI's one-line failures: `error: <what>: <why>
//! [invalid_argument]`, exit status 1. Only `--help` and `--version` keep clap's own text
//! (and exit 0).
use crate::failure::{CliCode, Failure};
use clap::error::{ContextKind, ContextValue, ErrorKind};

/// The failure a refused command line makes; `None` for `--help` and `--version`, which
/// print clap's text and succeed.
pub fn failure(e: &clap::Error) -> Option<Failure> {
    let get = |kind| e.get(kind).map(text);
    let quoted = |kind| e.get(kind).map(|v| format!("'{}'", text(v)));
    let arg = get(ContextKind::InvalidArg).map(|a| option_name(&a));
    let (subject, message) = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => return None,
        ErrorKind::InvalidValue => {
            let value = get(ContextKind::InvalidValue).unwrap_or_default();
            let message = if value.is_empty() {
                "a value is needed".to_owned()
            } else {
                let mut m = format!("expected one of {}", get(ContextKind::ValidValue).unwrap_or_default());
                if let Some(s) = quoted(ContextKind::SuggestedValue) {
                    m.push_str(&format!(" (did you mean {s}?)"));
                }
                m
            };
            (value_subject(arg, &value), message)
        }
        ErrorKind::ValueValidation => {
            let value = get(ContextKind::InvalidValue).unwrap_or_default();
            let why = std::error::Error::source(e).map(|s| s.to_string()).unwrap_or_else(|| "not a valid value".into());
            (value_subject(arg, &value), why)
        }
        ErrorKind::UnknownArgument => {
            let mut m = format!("'{}' takes no such argument", command(e));
            if let Some(s) = quoted(ContextKind::SuggestedArg) {
                m.push_str(&format!("; did you mean {s}?"));
            }
            if let Some(tips) = get(ContextKind::Suggested) {
                m.push_str(&format!(" ({tips})"));
            }
            (arg.unwrap_or_default(), m)
        }
        ErrorKind::InvalidSubcommand => {
            let mut m = format!("no such command{}", commands_of(e).map(|c| format!(" (the commands are {c})")).unwrap_or_default());
            if let Some(s) = quoted(ContextKind::SuggestedSubcommand) {
                m = format!("no such command; did you mean {s}?");
            }
            (get(ContextKind::InvalidSubcommand).unwrap_or_default(), m)
        }
        ErrorKind::MissingRequiredArgument => (command(e), format!("{} must be given", get(ContextKind::InvalidArg).unwrap_or_default())),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let which = commands_of(e).map(|c| format!(": {c}")).unwrap_or_default();
            (command(e), format!("a command is needed{which} (see --help)"))
        }
        ErrorKind::ArgumentConflict => {
            let prior = get(ContextKind::PriorArg).map(|p| option_name(&p)).unwrap_or_default();
            (arg.unwrap_or_default(), format!("cannot be used with {prior}"))
        }
        ErrorKind::NoEquals => (arg.unwrap_or_default(), "needs its value after '='".to_owned()),
        ErrorKind::TooManyValues | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            (arg.unwrap_or_default(), first_line(e).trim_start_matches("error: ").to_owned())
        }
        _ => (command(e), first_line(e).trim_start_matches("error: ").to_owned()),
    };
    Some(Failure::cli(subject, message, CliCode::InvalidArgument))
}

/// `--batch-size '-1'`, or the value alone for a positional argument.
fn value_subject(arg: Option<String>, value: &str) -> String {
    match arg {
        Some(a) => format!("{a} '{value}'"),
        None => format!("'{value}'"),
    }
}

/// `--batch-size <N>` → `--batch-size`; a positional `<CONFIG>` stays as it is.
fn option_name(arg: &str) -> String {
    if arg.starts_with('-') { arg.split_once(' ').map_or(arg, |(name, _)| name).to_owned() } else { arg.to_owned() }
}

fn text(v: &ContextValue) -> String {
    match v {
        ContextValue::Strings(items) => items.join(", "),
        ContextValue::StyledStrs(items) => items.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

fn first_line(e: &clap::Error) -> String {
    e.render().to_string().lines().next().unwrap_or_default().to_owned()
}

/// The command the line was for (`tenantsync user list`), read from the usage clap shows.
fn command(e: &clap::Error) -> String {
    let usage = e.get(ContextKind::Usage).map(text).unwrap_or_else(|| e.render().to_string());
    let Some(rest) = usage.lines().find_map(|l| l.trim().strip_prefix("Usage: ")) else { return "tenantsync".into() };
    rest.split_whitespace().take_while(|w| !w.starts_with(['[', '<', '-'])).collect::<Vec<_>>().join(" ")
}

/// The commands of the command the line was for, when it has any.
fn commands_of(e: &clap::Error) -> Option<String> {
    let path = command(e);
    let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
    for name in path.split_whitespace().skip(1) {
        cmd = cmd.find_subcommand(name)?.clone();
    }
    let names: Vec<&str> = cmd.get_subcommands().filter(|c| !c.is_hide_set() && c.get_name() != "help").map(|c| c.get_name()).collect();
    if names.is_empty() { None } else { Some(names.join(", ")) }
}
