//! Snapshot tests of error messages and codes: what an admin reads.

use tenantsync_expression::{Program, Schema, check, scoping::Filter};

fn report(cases: &[&str], run: impl Fn(&str) -> Option<tenantsync_expression::Error>) -> String {
    let mut out = String::new();
    for c in cases {
        match run(c) {
            Some(e) => out.push_str(&format!("{c}\n  -> [{}] {}\n", e.code(), e)),
            None => out.push_str(&format!("{c}\n  -> ok\n")),
        }
    }
    out
}

#[test]
fn parse_errors() {
    let cases = [
        r#"Replace([mail], "@contoso.com", , , "" , )"#,
        r#"Replace([mail], "@contoso.com" "x", , , "", , )"#,
        r#"Left([givenName], 3"#,
        r#"Left([givenName] 3)"#,
        r#"Joinn(",", [a])"#,
        r#"tolower([a])"#,
        r#"Frobnicate([a])"#,
        r#"Mid([a], 1)"#,
        r#"Guid(1)"#,
        r#"Switch([a], "d", "k")"#,
        r#"Join(",")"#,
        r#"SelectUniqueValue([a])"#,
        r#"Mid(, 1, 2)"#,
        r#"InStr("abc", "b", , vbTextCompar)"#,
        r#"IIF([a] = "x" = "y", 1, 2)"#,
        r#"IIF([a] == "x", 1, 2)"#,
        r#""unterminated"#,
        r#"[unterminated"#,
        r#"Append([], "x")"#,
        r#"Append([a], "x"))"#,
        r#"Append([a], "x") Append([a], "y")"#,
        r#"BitAnd(&HZZ, 1)"#,
        r#"BitAnd(99999999999999999999, 1)"#,
        r#"Left("abc", -)"#,
        r#"ToLower([a]) ; drop"#,
        r#"Now"#,
        r#""#,
    ];
    insta::assert_snapshot!(report(&cases, |c| check(c).error.map(|_| Program::compile_standalone(c).unwrap_err())));
}

#[test]
fn compile_errors() {
    let schema = Schema::new(["givenName", "surname", "mail", "userPrincipalName"]);
    let cases = [
        r#"Join(".", [givenname], [surname])"#,
        r#"[displayName]"#,
        r#"Replace([mail], , "(unclosed", , "", , )"#,
        r#"Replace([mail], , "(?<a>x)", "b", "", , )"#,
        r#"Replace([mail], , , , "x", , )"#,
        r#"DateDiff("days", Now(), Now())"#,
        r#"Append(SelectUniqueValue([mail], [userPrincipalName]), "x")"#,
        r#"SelectUniqueValue([mail], [userPrincipalName])"#,
    ];
    insta::assert_snapshot!(report(&cases, |c| Program::compile(c, &schema).err()));
}

#[test]
fn scoping_errors() {
    let cases = [
        "department EQUAL Sales",
        "department STARTS_WITH S",
        "department EQUALS",
        "accountEnabled IS TRUE yes",
        "employeeId Greater_Than ten",
        "mail REGEX MATCH (unclosed",
        "mial EQUALS x",
        "department",
    ];
    let schema = Schema::new(["department", "accountEnabled", "employeeId", "mail"]);
    insta::assert_snapshot!(report(&cases, |c| Filter::parse_text(c).and_then(|f| f.compile(&schema)).err()));
}
