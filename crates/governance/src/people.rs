//! People as a self-service interface (the web console's My Access) meets them: who an
//! address belongs to, whether they may sign in to a tenant's My Access at all, and the
//! access packages they may request, each with the policy that admits them and why.
//!
//! Who someone is follows the just-in-time design: a user of the tenant (by
//! userPrincipalName or mail); else a user of another tenantsync tenant that owns the
//! address's domain (a partner's employee, with or without a guest here yet); else
//! someone known only by mail. People from outside may sign in only when a configured
//! connected organization admits them, or when some policy admits anyone from outside.
use crate::{Governance, Result, Subject};
use std::collections::BTreeSet;
use tenantsync_access::{AccessPackage, AssignmentPolicy, ConnectedOrgState, Requestor, Standing, TargetScope, applicable, organization_of};
use tenantsync_domain::{DomainName, Mail, ObjectId, TenantId, Upn, User};

/// A package a person may request, under the policies that admit them.
#[derive(Debug, Clone)]
pub struct Offer {
    pub package: AccessPackage,
    /// The policies of the strictest category that admit them (Entra's rule).
    pub policies: Vec<AssignmentPolicy>,
    /// Why they may: the first policy's scope, in words.
    pub why: String,
}

/// A user of `tenant` known by this address (userPrincipalName first, then mail).
async fn user_by_address(g: &Governance, tenant: TenantId, email: &Mail) -> Result<Option<User>> {
    if let Ok(upn) = Upn::parse(email.as_str())
        && let Some(u) = g.store.find_user_by_upn(tenant, &upn).await?
        && !u.is_deleted()
    {
        return Ok(Some(u));
    }
    Ok(g.store.find_users_by_mail(tenant, email).await?.into_iter().find(|u| !u.is_deleted()))
}

fn scope_words(policy: &AssignmentPolicy, org: Option<&str>) -> String {
    let whom = match policy.allowed_target_scope {
        TargetScope::AllMemberUsers => "every member of the organization".to_owned(),
        TargetScope::AllDirectoryUsers => "every user of the organization".to_owned(),
        TargetScope::SpecificDirectoryUsers => "you by name or through a group you are in".to_owned(),
        TargetScope::SpecificConnectedOrganizationUsers => format!("people of {}", org.unwrap_or("your organization")),
        TargetScope::AllConfiguredConnectedOrganizationUsers => format!("people of every connected organization, {} among them", org.unwrap_or("yours")),
        TargetScope::AllExternalUsers => "anyone from outside the organization".to_owned(),
        TargetScope::NotSpecified | TargetScope::UnknownFutureValue => "no one who requests".to_owned(),
    };
    format!("the policy \u{201c}{}\u{201d} admits {whom}", policy.display_name)
}

impl Governance {
    /// Who `email` is to `tenant`, and whether they may sign in to its My Access
    /// (`None`: no one the tenant's policies could ever admit).
    pub async fn person_by_email(&self, tenant: TenantId, email: &Mail) -> Result<Option<Subject>> {
        if let Some(u) = user_by_address(self, tenant, email).await? {
            return Ok(Some(Subject::User(u.id)));
        }
        let (_, domain) = email.as_str().rsplit_once('@').unwrap_or_default();
        let Ok(domain) = DomainName::parse(domain) else { return Ok(None) };
        let subject = match self.store.find_tenant_by_domain(&domain).await? {
            Some(home) if home.id != tenant => match user_by_address(self, home.id, email).await? {
                Some(u) => Subject::TenantUser { tenant: home.id, user: u.id },
                // The domain is a tenant's, and no one there has this address.
                None => return Ok(None),
            },
            Some(_) => return Ok(None),
            None => Subject::Email(email.clone()),
        };
        let (standing, _) = self.standing(tenant, &subject).await?;
        // A guest already made for them is a user of the tenant.
        if let Standing::Member { user } | Standing::Guest { user, .. } = standing {
            return Ok(Some(Subject::User(user)));
        }
        let Standing::Outsider { home } = standing else { return Ok(None) };
        let orgs = self.connected_organizations(tenant).await?;
        let configured = organization_of(&orgs, &home).is_some_and(|o| o.state == ConnectedOrgState::Configured);
        let anyone = self.policies(tenant).await?.iter().any(|p| p.allowed_target_scope == TargetScope::AllExternalUsers);
        Ok((configured || anyone).then_some(subject))
    }

    /// The packages `subject` may request in `tenant`: those not hidden with a policy that
    /// admits them (plus `also`, hidden or not, when one admits them: a package reached
    /// by its link, as Entra's hidden packages are).
    pub async fn offers(&self, tenant: TenantId, subject: &Subject, also: Option<tenantsync_access::PackageId>) -> Result<Vec<Offer>> {
        let orgs = self.connected_organizations(tenant).await?;
        let (standing, _) = self.standing(tenant, subject).await?;
        let organization = match &standing {
            Standing::Member { .. } => None,
            Standing::Guest { home, .. } | Standing::Outsider { home } => organization_of(&orgs, home),
        };
        let user: Option<ObjectId> = match &standing {
            Standing::Member { user } | Standing::Guest { user, .. } => Some(*user),
            Standing::Outsider { .. } => None,
        };
        let groups: BTreeSet<ObjectId> = match user {
            Some(u) => self.store.member_of(tenant, u).await?.into_iter().collect(),
            None => BTreeSet::new(),
        };
        let org_name = organization.map(|o| o.display_name.clone());
        let requestor = Requestor { standing, groups, organization };
        let catalogs = self.catalogs(tenant).await?;
        let policies = self.policies(tenant).await?;
        let mut offers = Vec::new();
        for package in self.access_packages(tenant).await? {
            if package.is_hidden && also != Some(package.id) {
                continue;
            }
            let visible = catalogs.iter().find(|c| c.id == package.catalog_id).is_some_and(|c| c.is_externally_visible);
            let of_package: Vec<AssignmentPolicy> = policies.iter().filter(|p| p.access_package_id == package.id).cloned().collect();
            let admitting: Vec<AssignmentPolicy> = applicable(&of_package, &requestor, visible).into_iter().cloned().collect();
            if let Some(first) = admitting.first() {
                let why = scope_words(first, org_name.as_deref());
                offers.push(Offer { package, policies: admitting, why });
            }
        }
        offers.sort_by(|a, b| a.package.display_name.cmp(&b.package.display_name));
        Ok(offers)
    }
}
