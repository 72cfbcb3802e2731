//! The LDAP connector through the CLI, against a throwaway OpenLDAP (`.ci/slapd`),
//! checked with OpenLDAP's own `ldapsearch`, never with our database.
use crate::support::{Env, path_str};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub const SUFFIX: &str = "dc=example,dc=test";
pub const ADMIN: &str = "cn=admin,dc=example,dc=test";
pub const PEOPLE: &str = "ou=people,dc=example,dc=test";
pub const GROUPS: &str = "ou=groups,dc=example,dc=test";
pub const DISABLED: &str = "ou=disabled,dc=example,dc=test";

fn script() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/slapd")
}

/// A fresh slapd whose admin has `password`; its URL. It stops when this process ends.
pub fn slapd(password: &str) -> String {
    let out = Command::new("bash").arg(script()).args(["start", password, &std::process::id().to_string()]).output().unwrap();
    assert!(out.status.success(), "slapd did not start: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A fresh slapd that speaks TLS with the certificate chain `cert` and its `key` too:
/// its ldap:// URL (StartTLS) and its ldaps:// URL.
pub fn slapd_tls(password: &str, cert: &std::path::Path, key: &std::path::Path) -> (String, String) {
    let out = Command::new("bash").arg(script()).args(["start", password, &std::process::id().to_string()]).arg(cert).arg(key).output().unwrap();
    assert!(out.status.success(), "slapd did not start: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines().map(str::to_owned);
    (lines.next().unwrap(), lines.next().unwrap())
}

/// An entry as `ldapsearch` prints it: its DN and attributes (names lower-cased).
#[derive(Debug, Clone)]
pub struct Entry {
    pub dn: String,
    attrs: BTreeMap<String, Vec<String>>,
}

impl Entry {
    pub fn get(&self, a: &str) -> Vec<&str> {
        self.attrs.get(&a.to_ascii_lowercase()).map(|v| v.iter().map(String::as_str).collect()).unwrap_or_default()
    }

    pub fn one(&self, a: &str) -> &str {
        let v = self.get(a);
        assert_eq!(v.len(), 1, "{a} of {}: {v:?}", self.dn);
        v[0]
    }
}

/// `ldapsearch -LLL` under `base` for `filter`: the entries found (user and operational
/// attributes).
pub fn search(url: &str, base: &str, filter: &str) -> Vec<Entry> {
    let out = Command::new("ldapsearch")
        .args(["-x", "-LLL", "-o", "ldif-wrap=no", "-H", url, "-D", ADMIN, "-w", "admin-pw", "-b", base, filter, "*", "+"])
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(code == Some(0) || code == Some(32), "ldapsearch {filter}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut entries = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut entry = Entry { dn: String::new(), attrs: BTreeMap::new() };
        for line in block.lines() {
            let (k, v) = line.split_once(':').unwrap();
            assert!(!v.starts_with(':'), "a base64 value in the test data: {line}");
            let v = v.strip_prefix(' ').unwrap_or(v).to_owned();
            if k == "dn" {
                entry.dn = v;
            } else {
                entry.attrs.entry(k.to_ascii_lowercase()).or_default().push(v);
            }
        }
        entries.push(entry);
    }
    entries
}

pub fn user(url: &str, uid: &str) -> Option<Entry> {
    let found = search(url, SUFFIX, &format!("(uid={uid})"));
    assert!(found.len() <= 1, "one entry per uid: {found:?}");
    found.into_iter().next()
}

fn group(url: &str, cn: &str) -> Entry {
    let found = search(url, GROUPS, &format!("(cn={cn})"));
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().unwrap()
}

pub fn ldapmodify(url: &str, ldif: &str) {
    let mut child =
        Command::new("ldapmodify").args(["-x", "-H", url, "-D", ADMIN, "-w", "admin-pw"]).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), ldif.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "ldapmodify: {ldif}");
}

fn copy_uid(name: &str) -> String {
    format!("{name}_contoso.example#EXT#")
}

/// Contoso (the source) synced into App (the connector's tenant), App's own users carol
/// (dave's manager) and dave, and a group Projects of alice and carol.
fn world(env: &Env) {
    crate::connectors::contoso_and_app(env);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example", "--set", "displayName=Bob Jones", "--set", "surname=Jones"]);
    env.ok(&[
        "user",
        "create",
        "-t",
        "contoso.example",
        "--upn",
        "alice@contoso.example",
        "--set",
        "displayName=Alice",
        "--set",
        "mail=alice@contoso.example",
        "--set",
        "department=Sales",
        "--set",
        "manager=bob@contoso.example",
    ]);
    env.ok(&["sync", "create", "--source", "contoso.example", "--target", "app.example", "--scope", "all", "--user-type", "member"]);
    env.ok(&["sync", "run", "contoso.example:app.example"]);
    env.ok(&["user", "create", "-t", "app.example", "--upn", "carol@app.example", "--set", "displayName=Carol", "--set", "givenName=Carol"]);
    env.ok(&["user", "create", "-t", "app.example", "--upn", "dave@app.example", "--set", "displayName=Dave", "--set", "manager=carol@app.example"]);
    env.ok(&["group", "create", "-t", "app.example", "--name", "Projects"]);
    env.ok(&["group", "add-member", "-t", "app.example", "Projects", &format!("{}@app.example", copy_uid("alice"))]);
    env.ok(&["group", "add-member", "-t", "app.example", "Projects", "carol@app.example"]);
}

fn add_args<'a>(name: &'a str, url: &'a str, password: &'a str) -> Vec<&'a str> {
    vec![
        "connector",
        "add",
        name,
        "-t",
        "app.example",
        "--ldap-url",
        url,
        "--bind-dn",
        ADMIN,
        "--password-file",
        password,
        "--users-base",
        PEOPLE,
        "--groups-base",
        GROUPS,
    ]
}

fn counters(report: &serde_json::Value) -> [u64; 7] {
    let c = &report["counters"];
    ["created", "matched", "updated", "deprovisioned", "deleted", "unchanged", "escrowed"].map(|k| c[k].as_u64().unwrap())
}

#[test]
fn a_tenant_is_exported_to_slapd_and_follows_it() {
    let env = Env::new();
    world(&env);
    let url = slapd("admin-pw");
    ldapmodify(&url, &format!("dn: {DISABLED}\nchangetype: add\nobjectClass: organizationalUnit\nou: disabled\n"));
    let password = env.file("password", "admin-pw\n");
    let mut args = add_args("app-ldap", &url, path_str(&password));
    args.extend(["--disabled-base", DISABLED]);
    env.ok(&args);
    let shown = env.ok(&["connector", "show", "app-ldap", "--json"]);
    assert!(!shown.contains("admin-pw") && shown.contains("\"sealedPassword\": \"(sealed)\""), "{shown}");
    let facts = env.ok(&["connector", "test", "app-ldap"]);
    for fact in ["credentials accepted: bound as cn=admin", "naming contexts: dc=example,dc=test", "paged results: yes", "users base: ou=people"] {
        assert!(facts.contains(fact), "{fact}: {facts}");
    }

    // The initial export: users with their attributes and manager's DN, the group with
    // its members' DNs.
    let report = env.json(&["connector", "export", "app-ldap"]);
    assert_eq!(counters(&report), [5, 0, 0, 0, 0, 0, 0], "alice, bob, carol, dave, Projects: {report}");
    let alice = user(&url, &copy_uid("alice")).unwrap();
    let bob = user(&url, &copy_uid("bob")).unwrap();
    let carol = user(&url, "carol").unwrap();
    let dave = user(&url, "dave").unwrap();
    assert_eq!(alice.dn, format!("uid={},{PEOPLE}", copy_uid("alice")));
    let mut classes = alice.get("objectClass");
    classes.sort();
    assert_eq!(classes, vec!["inetOrgPerson", "organizationalPerson", "person", "top"]);
    assert_eq!((alice.one("cn"), alice.one("sn"), alice.one("mail")), ("Alice", "Alice", "alice@contoso.example"), "sn falls back to the name");
    assert_eq!(alice.one("departmentNumber"), "Sales");
    assert_eq!(alice.one("manager"), bob.dn, "the manager's DN");
    assert_eq!((bob.one("cn"), bob.one("sn")), ("Bob Jones", "Jones"));
    assert_eq!(dave.one("manager"), carol.dn);
    let projects = group(&url, "Projects");
    let mut members = projects.get("member");
    members.sort();
    assert_eq!(members, vec![alice.dn.as_str(), carol.dn.as_str()]);
    assert_eq!(carol.get("memberOf"), vec![projects.dn.as_str()], "slapd's memberof overlay agrees");

    // Nothing changed: nothing sent.
    assert_eq!(counters(&env.json(&["connector", "export", "app-ldap"])), [0; 7]);

    // An update sends only what changed: a title set by hand in the directory stays.
    ldapmodify(&url, &format!("dn: {}\nchangetype: modify\nreplace: title\ntitle: Set by hand\n", alice.dn));
    env.ok(&["user", "update", "-t", "contoso.example", "alice@contoso.example", "--set", "department=Marketing"]);
    env.ok(&["sync", "run", "contoso.example:app.example"]);
    let report = env.json(&["connector", "export", "app-ldap"]);
    assert_eq!(counters(&report)[2], 1, "{report}");
    let alice_now = user(&url, &copy_uid("alice")).unwrap();
    assert_eq!((alice_now.one("departmentNumber"), alice_now.one("title")), ("Marketing", "Set by hand"));
    assert_eq!(alice_now.one("entryUUID"), alice.one("entryUUID"));

    // A new UPN is a new RDN: the entry is renamed (the same entry), and the group's
    // member and dave's manager follow it.
    env.ok(&["user", "update", "-t", "app.example", "carol@app.example", "--set", "userPrincipalName=caroline@app.example"]);
    let report = env.json(&["connector", "export", "app-ldap"]);
    assert_eq!(counters(&report)[2], 1, "{report}");
    assert!(user(&url, "carol").is_none());
    let caroline = user(&url, "caroline").unwrap();
    assert_eq!(caroline.dn, format!("uid=caroline,{PEOPLE}"));
    assert_eq!(caroline.one("entryUUID"), carol.one("entryUUID"), "renamed, not made again");
    assert_eq!(caroline.one("cn"), "Carol");
    let mut members = group(&url, "Projects").get("member").into_iter().map(str::to_owned).collect::<Vec<_>>();
    members.sort();
    assert_eq!(members, vec![alice.dn.clone(), caroline.dn.clone()]);
    assert_eq!(user(&url, "dave").unwrap().one("manager"), caroline.dn);
    assert_eq!(caroline.get("memberOf"), vec![projects.dn.as_str()]);

    // Soft delete with a disabled base: the user moves there (the same entry); the last
    // member leaving a group leaves the empty-DN placeholder groupOfNames needs.
    env.ok(&["user", "delete", "-t", "app.example", "dave@app.example"]);
    env.ok(&["group", "remove-member", "-t", "app.example", "Projects", "caroline@app.example"]);
    env.ok(&["group", "remove-member", "-t", "app.example", "Projects", &format!("{}@app.example", copy_uid("alice"))]);
    let report = env.json(&["connector", "export", "app-ldap"]);
    assert_eq!(counters(&report)[3], 1, "dave: {report}");
    let dave_now = user(&url, "dave").unwrap();
    assert_eq!(dave_now.dn, format!("uid=dave,{DISABLED}"));
    assert_eq!(dave_now.one("entryUUID"), dave.one("entryUUID"));
    assert_eq!(group(&url, "Projects").get("member"), vec![""], "the placeholder member");
    env.ok(&["user", "restore", "-t", "app.example", "dave@app.example"]);
    env.ok(&["group", "add-member", "-t", "app.example", "Projects", "dave@app.example"]);
    env.json(&["connector", "export", "app-ldap"]);
    let dave_back = user(&url, "dave").unwrap();
    assert_eq!(dave_back.dn, format!("uid=dave,{PEOPLE}"), "restored: moved back");
    assert_eq!(group(&url, "Projects").get("member"), vec![dave_back.dn.as_str()], "the placeholder went");

    // Links lost: every object is matched by its uid (groups by cn), none made twice.
    let before = search(&url, SUFFIX, "(objectClass=inetOrgPerson)").len();
    env.ok(&["connector", "remove", "app-ldap"]);
    env.ok(&args);
    let report = env.json(&["connector", "export", "app-ldap"]);
    assert_eq!(counters(&report)[..2], [0, 5], "{report}");
    assert_eq!(search(&url, SUFFIX, "(objectClass=inetOrgPerson)").len(), before);
    assert_eq!(counters(&env.json(&["connector", "export", "app-ldap"])), [0; 7]);

    // A hard delete deletes the entry.
    env.ok(&["user", "delete", "-t", "app.example", "dave@app.example", "--hard"]);
    let report = env.json(&["connector", "export", "app-ldap"]);
    assert_eq!(counters(&report)[4], 1, "{report}");
    assert!(user(&url, "dave").is_none());
    assert_eq!(group(&url, "Projects").get("member"), vec![""], "the deleted member went from the group");
}

#[test]
fn a_wrong_password_fails_in_one_line_and_an_object_class_violation_escrows_one_object() {
    let env = Env::new();
    world(&env);
    let url = slapd("admin-pw");
    let wrong = env.file("wrong", "not-the-password\n");
    env.ok(&add_args("bad-password", &url, path_str(&wrong)));
    let r = env.run(&["connector", "test", "bad-password"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("invalidCredentials") && r.stderr.trim().ends_with("[connector_auth_failed]"), "{}", r.stderr);
    let r = env.run(&["connector", "export", "bad-password"]);
    assert!(r.stderr.trim().ends_with("[connector_auth_failed]"), "{}", r.stderr);
    assert_eq!(env.json(&["connector", "show", "bad-password"])["links"]["total"], 0, "a system failure escrows nothing");

    // homeDirectory is posixAccount's, not inetOrgPerson's: the one user with a job title
    // is refused (objectClassViolation) and escrowed; everyone else goes across.
    env.ok(&["user", "update", "-t", "app.example", "dave@app.example", "--set", "jobTitle=Engineer"]);
    let password = env.file("password", "admin-pw\n");
    let mut args = add_args("strict", &url, path_str(&password));
    args.extend(["--map", "homeDirectory=jobTitle"]);
    env.ok(&args);
    let report = env.json(&["connector", "export", "strict"]);
    assert_eq!(counters(&report), [4, 0, 0, 0, 0, 0, 1], "{report}");
    assert!(user(&url, "dave").is_none());
    assert!(user(&url, "carol").is_some() && user(&url, &copy_uid("alice")).is_some());
    let shown = env.json(&["connector", "show", "strict"]);
    assert_eq!(shown["links"]["escrowed"], 1, "{shown}");
    assert_eq!(shown["state"]["health"], "healthy");

    // Bad settings are refused before anything is stored.
    for (extra, code) in [
        (vec!["--deprovision", "disable"], "invalid_connector_settings"),
        (vec!["--map", "member=mail"], "invalid_connector_settings"),
        (vec!["--map", "title=shoeSize"], "invalid_argument"),
    ] {
        let mut all = add_args("x", &url, path_str(&password));
        all.extend(extra);
        let r = env.run(&all);
        assert!(r.stderr.trim().ends_with(&format!("[{code}]")), "{all:?}: {}", r.stderr);
    }
    let r = env.run(&["connector", "add", "x", "-t", "app.example", "--ldap-url", &url, "--scim-url", "http://x"]);
    assert!(r.code == 1 && r.stderr.contains("cannot be used with --scim-url") && r.stderr.trim().ends_with("[invalid_argument]"), "{}", r.stderr);
}
