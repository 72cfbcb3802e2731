//! `connector add … --ldap-url`: the flags of an LDAP v3 directory as a target, and the
//! settings they make (the bind password read from a file or a variable, sealed).
use super::{invalid, secret_key, subject};
use crate::cmd::Ctx;
use crate::failure::{Context, Failure};
use clap::Args;
use tenantsync_connectors::{Deprovision, LdapMatching, LdapSettings, LdapWatermark, UserField};

#[derive(Debug, Args)]
pub struct LdapArgs {
    /// An LDAP v3 directory's URL (`ldap://` or `ldaps://`), instead of --scim-url.
    #[arg(long, value_name = "URL", conflicts_with_all = ["scim_url", "token_file", "token_env"], requires_all = ["bind_dn", "users_base", "groups_base"])]
    pub ldap_url: Option<String>,
    /// StartTLS on an ldap:// connection before binding.
    #[arg(long, requires = "ldap_url")]
    pub start_tls: bool,
    /// A PEM file of the CA certificates the directory's certificate must chain to (over
    /// ldaps:// or --start-tls), instead of the system's roots; read when the connector
    /// connects.
    #[arg(long, value_name = "FILE", requires = "ldap_url")]
    pub ca_file: Option<std::path::PathBuf>,
    /// As an import: what the incremental read asks for changes by: auto (entryCSN where
    /// the directory keeps it, else uSNChanged, else modifyTimestamp), entryCSN,
    /// uSNChanged or modifyTimestamp.
    #[arg(long, value_name = "ATTR", requires = "ldap_url")]
    pub watermark: Option<String>,
    /// The DN the connector binds as.
    #[arg(long, value_name = "DN", requires = "ldap_url")]
    pub bind_dn: Option<String>,
    /// A file holding the bind password (its first line).
    #[arg(long, value_name = "FILE", requires = "ldap_url", conflicts_with = "password_env")]
    pub password_file: Option<std::path::PathBuf>,
    /// An environment variable holding the bind password.
    #[arg(long, value_name = "VAR", requires = "ldap_url")]
    pub password_env: Option<String>,
    /// Where users are created.
    #[arg(long, value_name = "DN", requires = "ldap_url")]
    pub users_base: Option<String>,
    /// Where groups are created.
    #[arg(long, value_name = "DN", requires = "ldap_url")]
    pub groups_base: Option<String>,
    /// Where disabled and soft-deleted users are moved (`--deprovision disable`, the
    /// default when this is given).
    #[arg(long, value_name = "DN", requires = "ldap_url")]
    pub disabled_base: Option<String>,
    /// The users' object classes, comma-separated (default inetOrgPerson,organizationalPerson,person,top).
    #[arg(long, value_name = "CLASSES", requires = "ldap_url")]
    pub user_classes: Option<String>,
    /// The groups' object classes, comma-separated (default groupOfNames,top).
    #[arg(long, value_name = "CLASSES", requires = "ldap_url")]
    pub group_classes: Option<String>,
    /// The users' naming attribute (default uid; it must be mapped).
    #[arg(long, value_name = "ATTR", requires = "ldap_url")]
    pub user_rdn: Option<String>,
    /// An attribute mapping, `ATTR=FIELD` (FIELD: userPrincipalName, upnLocalPart,
    /// mailNickname, displayName, surname, jobTitle, …), or `ATTR=` to drop a default one.
    #[arg(long = "map", value_name = "ATTR=FIELD", requires = "ldap_url")]
    pub map: Vec<String>,
    /// The member an empty group holds (groupOfNames requires one); default the empty DN.
    #[arg(long, value_name = "DN", requires = "ldap_url")]
    pub empty_member: Option<String>,
}

/// The settings the flags make.
pub fn settings(ctx: &Ctx, name: &str, a: LdapArgs, url: &str, matching: Option<&str>, deprovision: Option<&str>) -> Result<LdapSettings, Failure> {
    let need = |v: Option<String>, flag: &str| v.ok_or_else(|| invalid(name, format!("--ldap-url needs {flag}")));
    let mut s = LdapSettings::new(url, &need(a.bind_dn, "--bind-dn")?, &need(a.users_base, "--users-base")?, &need(a.groups_base, "--groups-base")?);
    s.start_tls = a.start_tls;
    if let Some(f) = a.ca_file {
        // Kept absolute: `serve` may run from another directory.
        let f = std::path::absolute(&f).unwrap_or(f);
        s.ca_file = Some(f.to_string_lossy().into_owned());
    }
    if let Some(w) = a.watermark {
        s.watermark =
            LdapWatermark::parse(&w).ok_or_else(|| invalid(name, format!("--watermark '{w}': takes auto, entryCSN, uSNChanged or modifyTimestamp")))?;
    }
    s.deprovision = match deprovision {
        Some(d) => Deprovision::parse(d).ok_or_else(|| invalid(name, format!("--deprovision '{d}': takes disable or delete")))?,
        None if a.disabled_base.is_some() => Deprovision::Disable,
        None => Deprovision::Delete,
    };
    s.disabled_base = a.disabled_base;
    if let Some(m) = matching {
        s.matching = LdapMatching::parse(m).ok_or_else(|| invalid(name, format!("--matching '{m}': takes uid (the naming attribute) or mail for LDAP")))?;
    }
    let classes = |list: &str| list.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect::<Vec<_>>();
    if let Some(c) = a.user_classes {
        s.user_classes = classes(&c);
    }
    if let Some(c) = a.group_classes {
        s.group_classes = classes(&c);
    }
    if let Some(r) = a.user_rdn {
        s.user_rdn = r;
    }
    for m in &a.map {
        let (attribute, field) = m.split_once('=').ok_or_else(|| invalid(name, format!("--map '{m}': takes ATTR=FIELD")))?;
        let attribute = attribute.trim().to_owned();
        if field.trim().is_empty() {
            s.attributes.retain(|k, _| !k.eq_ignore_ascii_case(&attribute));
            continue;
        }
        let f = UserField::parse(field.trim()).ok_or_else(|| {
            let all: Vec<String> = UserField::ALL.iter().map(|f| f.name()).collect();
            invalid(name, format!("--map '{m}': unknown field '{field}' (takes {})", all.join(", ")))
        })?;
        s.attributes.retain(|k, _| !k.eq_ignore_ascii_case(&attribute));
        s.attributes.insert(attribute, f);
    }
    if let Some(e) = a.empty_member {
        s.empty_member = e;
    }
    s.check().about(|| subject(name))?;
    // Builds what connecting needs (the CA file read): a file that holds no certificate
    // is refused now rather than at the first run.
    tenantsync_connectors::LdapTarget::new(&s, None).about(|| subject(name))?;
    if let Some(password) = read_secret(name, "password", a.password_file.as_deref(), a.password_env.as_deref())? {
        s.sealed_password = Some(secret_key(ctx)?.seal(&password).about(|| subject(name))?);
    }
    Ok(s)
}

/// A secret read from a file (its first line) or an environment variable, never the
/// command line.
fn read_secret(name: &str, what: &str, file: Option<&std::path::Path>, env: Option<&str>) -> Result<Option<String>, Failure> {
    let secret = match (file, env) {
        (Some(f), _) => {
            let text = std::fs::read_to_string(f)
                .map_err(|e| Failure::cli(format!("{what} file '{}'", f.display()), e.to_string(), crate::failure::CliCode::UnreadableFile))?;
            Some(text.lines().next().unwrap_or("").trim().to_owned())
        }
        (None, Some(v)) => Some(std::env::var(v).map_err(|_| invalid(name, format!("the environment variable {v} is not set")))?.trim().to_owned()),
        (None, None) => None,
    };
    match secret {
        Some(t) if t.is_empty() => Err(invalid(name, format!("the {what} is empty"))),
        t => Ok(t),
    }
}
