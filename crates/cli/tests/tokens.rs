//! `tenantsync token` and `tenantsync serve`: a token is printed once and works against
//! the served SCIM endpoint until it is revoked.
use crate::support::*;
use std::io::{BufRead, BufReader, Read, Write};

fn get(addr: &str, path: &str, token: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn tokens_are_shown_once_listed_without_secret_and_revocable() {
    let env = Env::new();
    env.contoso();
    let token = env.ok(&["token", "create", "--tenant", "contoso.example", "--name", "entra", "--expires", "30"]).trim().to_owned();
    assert!(token.starts_with("tsync_") && token.len() == 6 + 32 + 1 + 64, "{token}");
    let list = env.json(&["token", "list", "--tenant", "contoso.example"]);
    let entry = &list[0];
    assert_eq!(entry["name"], "entra");
    assert!(entry["expiresDateTime"].is_string() && entry["revokedDateTime"].is_null());
    assert!(!list.to_string().contains(&token[token.len() - 64..]), "the secret is never listed");

    let mut serve =
        env.cmd().args(["serve", "--listen", "127.0.0.1:0"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("serving SCIM 2.0 on http://").unwrap().split('/').next().unwrap().to_owned();
    let ok = get(&addr, "/scim/v2/contoso.example/Users", &token);
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");

    let id = entry["id"].as_str().unwrap();
    env.ok(&["token", "revoke", "--tenant", "contoso.example", id]);
    let refused = get(&addr, "/scim/v2/contoso.example/Users", &token);
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    assert!(env.json(&["token", "list", "--tenant", "contoso.example"])[0]["revokedDateTime"].is_string());

    let r = env.run(&["token", "revoke", "--tenant", "contoso.example", "0b7f1c2e-0000-4000-8000-000000000000"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("[token_not_found]"), "{}", r.stderr);
    let r = env.run(&["token", "create", "--tenant", "nosuch.example"]);
    assert!(r.stderr.contains("[tenant_not_found]"), "{}", r.stderr);
}
