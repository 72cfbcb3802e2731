//! Just-in-time links: who can reach a tenant by requesting its access packages, as the
//! drawing shows them (dashed, beside the sync arrows). Derived from the state alone: a
//! policy open to people outside its tenant links each identity source it admits (a
//! connected organization's tenant or mail domain, or "anyone outside") to the package's
//! tenant. Policies for the tenant's own people or for administrators only draw nothing:
//! nobody crosses a boundary through them.
use crate::packages::{IdentityState, RequestorsSpec};
use crate::state::State;
use std::collections::BTreeMap;

/// Where the people of a just-in-time link come from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum JitSource {
    /// A tenant of the topology, by initial domain.
    Tenant(String),
    /// People with mail in this domain, outside tenantsync.
    Domain(String),
    /// Anyone outside (an "all external users" policy).
    AnyoneOutside,
}

impl JitSource {
    /// How a drawing names it.
    pub fn text(&self) -> String {
        match self {
            Self::Tenant(d) => d.clone(),
            Self::Domain(d) => format!("@{d}"),
            Self::AnyoneOutside => "anyone outside".to_owned(),
        }
    }
}

/// People of `source` may request the `packages` of tenant `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitLink {
    pub source: JitSource,
    /// The package's tenant, by initial domain.
    pub target: String,
    /// Package names, sorted, each once.
    pub packages: Vec<String>,
}

impl State {
    /// The just-in-time links of the state, one per (source, target), in a stable order.
    pub fn jit_links(&self) -> Vec<JitLink> {
        let mut links: BTreeMap<(JitSource, String), Vec<String>> = BTreeMap::new();
        for p in &self.packages {
            let organizations: Vec<_> = self.organizations.iter().filter(|o| o.tenant == p.tenant).collect();
            for policy in &p.policies {
                let sources: Vec<JitSource> = match policy.requestors {
                    RequestorsSpec::Admins | RequestorsSpec::Members | RequestorsSpec::AllUsers => Vec::new(),
                    RequestorsSpec::AllExternal => vec![JitSource::AnyoneOutside],
                    RequestorsSpec::AllOrganizations => organizations.iter().map(|o| source(&o.identity)).collect(),
                    RequestorsSpec::Organizations => organizations
                        .iter()
                        .filter(|o| policy.organizations.iter().any(|n| n.eq_ignore_ascii_case(&o.name)))
                        .map(|o| source(&o.identity))
                        .collect(),
                };
                for s in sources {
                    let names = links.entry((s, p.tenant.clone())).or_default();
                    if !names.contains(&p.name) {
                        names.push(p.name.clone());
                    }
                }
            }
        }
        links
            .into_iter()
            .map(|((source, target), mut packages)| {
                packages.sort();
                JitLink { source, target, packages }
            })
            .collect()
    }
}

fn source(identity: &IdentityState) -> JitSource {
    match identity {
        IdentityState::Tenant(d) => JitSource::Tenant(d.clone()),
        IdentityState::Domain(d) => JitSource::Domain(d.clone()),
    }
}

#[cfg(test)]
mod tests {
    const FILE: &str = r#"
[[tenants]]
name = "Contoso"
domain = "contoso.example"
[[tenants]]
name = "Litware"
domain = "litware.example"
[[connected_organization]]
tenant = "contoso.example"
name = "Litware"
identity_tenant = "litware.example"
[[connected_organization]]
tenant = "contoso.example"
name = "Fabrikam"
identity_domain = "fabrikam.example"
[[catalog]]
tenant = "contoso.example"
name = "C"
[[access_package]]
tenant = "contoso.example"
catalog = "C"
name = "Projects"
[[access_package.policy]]
name = "Litware"
requestors = "organizations"
organizations = ["litware"]
[[access_package.policy]]
name = "Members"
requestors = "members"
[[access_package]]
tenant = "contoso.example"
catalog = "C"
name = "Visitors"
[[access_package.policy]]
name = "Everyone configured"
requestors = "all-organizations"
[[access_package.policy]]
name = "Anyone"
requestors = "all-external"
[[access_package]]
tenant = "contoso.example"
catalog = "C"
name = "Internal"
[[access_package.policy]]
name = "Admins"
"#;

    #[test]
    fn links_follow_the_policies_open_to_outsiders() {
        let (state, _) = crate::load("f.toml", FILE).unwrap();
        let links: Vec<(String, String, Vec<String>)> = state.jit_links().into_iter().map(|l| (l.source.text(), l.target, l.packages)).collect();
        let c = "contoso.example".to_owned();
        assert_eq!(
            links,
            vec![
                ("litware.example".to_owned(), c.clone(), vec!["Projects".to_owned(), "Visitors".to_owned()]),
                ("@fabrikam.example".to_owned(), c.clone(), vec!["Visitors".to_owned()]),
                ("anyone outside".to_owned(), c, vec!["Visitors".to_owned()]),
            ]
        );
    }
}
