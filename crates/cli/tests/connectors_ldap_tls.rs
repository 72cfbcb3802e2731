//! The LDAP connector over TLS, against a throwaway slapd with a certificate made by the
//! `openssl` command (as an operator would): exports and imports over ldaps:// and over
//! StartTLS, trusting the CA file the connector's settings name; a certificate from
//! another CA refused in one line naming the connector, with nothing written.
use crate::connectors_ldap::{ADMIN, GROUPS, PEOPLE, SUFFIX, search, slapd_tls, user};
use crate::support::{Env, path_str};
use std::path::{Path, PathBuf};

/// A CA and a certificate it signed for 127.0.0.1, in `dir`: the CA's file, the
/// server's chain and key. `name` tells two CAs apart.
fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let c = tenantsync_browser::test_certificate(&dir.join(name), &format!("tenantsync test CA {name}")).unwrap();
    (c.ca, c.cert, c.key)
}

fn counter(report: &serde_json::Value, k: &str) -> u64 {
    report["counters"][k].as_u64().unwrap()
}

/// `connector add NAME -t TENANT --ldap-url URL … --ca-file CA` and `extra`.
fn add(env: &Env, name: &str, tenant: &str, url: &str, password: &Path, ca: &Path, extra: &[&str]) {
    let mut args = vec![
        "connector",
        "add",
        name,
        "-t",
        tenant,
        "--ldap-url",
        url,
        "--bind-dn",
        ADMIN,
        "--password-file",
        path_str(password),
        "--users-base",
        PEOPLE,
        "--groups-base",
        GROUPS,
        "--ca-file",
        path_str(ca),
    ];
    args.extend(extra);
    env.ok(&args);
}

#[test]
fn ldaps_and_start_tls_export_and_import_trusting_the_connectors_ca_and_refuse_another() {
    let env = Env::new();
    let (ca, cert, key) = certificate(env.dir.path(), "ours");
    let (other_ca, _, _) = certificate(env.dir.path(), "theirs");
    let (ldap, ldaps) = slapd_tls("admin-pw", &cert, &key);
    let password = env.file("password", "admin-pw\n");
    env.ok(&["tenant", "create", "--name", "App", "--domain", "app.example"]);
    env.ok(&["user", "create", "-t", "app.example", "--upn", "carol@app.example", "--set", "displayName=Carol"]);
    env.ok(&["user", "create", "-t", "app.example", "--upn", "dave@app.example", "--set", "displayName=Dave", "--set", "manager=carol@app.example"]);
    env.ok(&["group", "create", "-t", "app.example", "--name", "Projects"]);
    env.ok(&["group", "add-member", "-t", "app.example", "Projects", "carol@app.example"]);

    // Export over ldaps://.
    add(&env, "app-ldaps", "app.example", &ldaps, &password, &ca, &[]);
    let facts = env.ok(&["connector", "test", "app-ldaps"]);
    assert!(facts.contains("credentials accepted") && facts.contains(&ldaps), "{facts}");
    let report = env.json(&["connector", "export", "app-ldaps"]);
    assert_eq!(counter(&report, "created"), 3, "{report}");
    let carol = user(&ldap, "carol").unwrap();
    assert_eq!(user(&ldap, "dave").unwrap().one("manager"), carol.dn);

    // Export over StartTLS: a second connector of the same tenant matches what is there,
    // then carries an update.
    add(&env, "app-starttls", "app.example", &ldap, &password, &ca, &["--start-tls"]);
    assert_eq!(counter(&env.json(&["connector", "export", "app-starttls"]), "matched"), 3);
    env.ok(&["user", "update", "-t", "app.example", "carol@app.example", "--set", "jobTitle=Lead"]);
    assert_eq!(counter(&env.json(&["connector", "export", "app-starttls"]), "updated"), 1);
    assert_eq!(user(&ldap, "carol").unwrap().one("title"), "Lead");

    // Import over each: the directory feeds a tenant.
    for (name, tenant, url, extra) in [("hr-ldaps", "hr.example", &ldaps, &[][..]), ("hr-starttls", "hr2.example", &ldap, &["--start-tls"][..])] {
        env.ok(&["tenant", "create", "--name", tenant, "--domain", tenant]);
        let mut all = vec!["--import"];
        all.extend(extra);
        add(&env, name, tenant, url, &password, &ca, &all);
        let report = env.json(&["connector", "import", name]);
        assert_eq!(counter(&report, "created"), 3, "{name}: {report}");
        let dave = env.json(&["user", "show", "-t", tenant, &format!("dave@{tenant}")]);
        assert_eq!(dave["manager"], env.json(&["user", "show", "-t", tenant, &format!("carol@{tenant}")])["id"]);
        assert_eq!(env.json(&["user", "show", "-t", tenant, &format!("carol@{tenant}")])["jobTitle"], "Lead");
    }

    // A certificate the connector's CA did not issue: one line naming the connector,
    // not retried, nothing written — neither into the directory nor into the tenant.
    env.ok(&["tenant", "create", "--name", "Other", "--domain", "other.example"]);
    env.ok(&["user", "create", "-t", "other.example", "--upn", "erin@other.example"]);
    for (name, url, extra) in [("wrong-ca-ldaps", &ldaps, &[][..]), ("wrong-ca-starttls", &ldap, &["--start-tls"][..])] {
        add(&env, name, "other.example", url, &password, &other_ca, extra);
        let r = env.run(&["connector", "export", name]);
        assert_eq!((r.code, r.stderr.trim_end().lines().count()), (1, 1), "{}", r.stderr);
        let line = r.stderr.trim();
        assert!(line.contains(&format!("connector '{name}'")) && line.contains("not trusted") && line.contains("--ca-file"), "{line}");
        assert!(line.ends_with("[connector_unreachable]"), "{line}");
        let r = env.run(&["connector", "test", name]);
        assert!(r.code == 1 && r.stderr.contains("not trusted"), "{}", r.stderr);
    }
    assert!(user(&ldap, "erin").is_none(), "nothing exported");
    env.ok(&["tenant", "create", "--name", "Other HR", "--domain", "hr3.example"]);
    add(&env, "wrong-ca-import", "hr3.example", &ldaps, &password, &other_ca, &["--import"]);
    let r = env.run(&["connector", "import", "wrong-ca-import"]);
    assert!(r.code == 1 && r.stderr.contains("connector 'wrong-ca-import'") && r.stderr.contains("not trusted"), "{}", r.stderr);
    assert!(env.json(&["user", "list", "-t", "hr3.example"])["value"].as_array().unwrap().is_empty(), "nothing imported");
    assert_eq!(env.json(&["connector", "show", "wrong-ca-import"])["links"]["total"], 0);
    assert_eq!(search(&ldap, SUFFIX, "(objectClass=inetOrgPerson)").len(), 2, "carol and dave, once each");

    // A CA file that is no certificate is the settings' fault, said when adding.
    let garbage = env.file("garbage.pem", "not a certificate\n");
    let r = env.run(&[
        "connector",
        "add",
        "x",
        "-t",
        "other.example",
        "--ldap-url",
        &ldaps,
        "--bind-dn",
        ADMIN,
        "--users-base",
        PEOPLE,
        "--groups-base",
        GROUPS,
        "--ca-file",
        path_str(&garbage),
    ]);
    assert!(r.code == 1 && r.stderr.contains("holds no PEM certificate") && r.stderr.trim().ends_with("[invalid_connector_settings]"), "{}", r.stderr);
}
