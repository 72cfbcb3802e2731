//! A user's attributes taken as a whole: a set of built-in attributes, what is left of
//! a user's attributes when only some are kept, and an attribute's value as text
//! without a copy. A sync's create of a copy from a source user read for it alone
//! moves the source's attributes into the copy in one piece and keeps those its
//! mappings copy as they are, instead of moving them one by one.
use crate::{UserAttribute, UserAttributes};
use std::borrow::Cow;

/// A set of built-in user attributes (a bit per [`UserAttribute::index`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserAttributeSet(u32);

// One bit per attribute.
const _: () = assert!(UserAttribute::ALL.len() <= 32);

impl UserAttributeSet {
    pub fn insert(&mut self, a: UserAttribute) {
        self.0 |= 1 << a.index();
    }

    pub fn contains(self, a: UserAttribute) -> bool {
        self.0 & (1 << a.index()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<UserAttribute> for UserAttributeSet {
    fn from_iter<I: IntoIterator<Item = UserAttribute>>(iter: I) -> Self {
        let mut set = UserAttributeSet::default();
        for a in iter {
            set.insert(a);
        }
        set
    }
}

impl UserAttributes {
    /// Resets every built-in attribute not in `keep` to what [`UserAttributes::new`]
    /// gives it, and drops the extension values; the userPrincipalName stays.
    pub fn retain(&mut self, keep: UserAttributeSet) {
        use UserAttribute as A;
        // Every field named: a new attribute does not compile until it is placed here.
        let UserAttributes {
            user_principal_name: _,
            mail,
            display_name,
            given_name,
            surname,
            mail_nickname,
            account_enabled,
            user_type,
            department,
            job_title,
            company_name,
            employee_id,
            office_location,
            street_address,
            city,
            state,
            postal_code,
            country,
            usage_location,
            preferred_language,
            telephone_number,
            mobile_phone,
            show_in_address_list,
            manager,
            external_id,
            extensions,
        } = self;
        let clear = |a: UserAttribute, slot: &mut Option<String>| {
            if !keep.contains(a) {
                *slot = None;
            }
        };
        if !keep.contains(A::Mail) {
            *mail = None;
        }
        clear(A::DisplayName, display_name);
        clear(A::GivenName, given_name);
        clear(A::Surname, surname);
        clear(A::MailNickname, mail_nickname);
        if !keep.contains(A::AccountEnabled) {
            *account_enabled = true;
        }
        if !keep.contains(A::UserType) {
            *user_type = crate::UserType::Member;
        }
        clear(A::Department, department);
        clear(A::JobTitle, job_title);
        clear(A::CompanyName, company_name);
        clear(A::EmployeeId, employee_id);
        clear(A::OfficeLocation, office_location);
        clear(A::StreetAddress, street_address);
        clear(A::City, city);
        clear(A::State, state);
        clear(A::PostalCode, postal_code);
        clear(A::Country, country);
        clear(A::UsageLocation, usage_location);
        clear(A::PreferredLanguage, preferred_language);
        clear(A::TelephoneNumber, telephone_number);
        clear(A::MobilePhone, mobile_phone);
        if !keep.contains(A::ShowInAddressList) {
            *show_in_address_list = None;
        }
        if !keep.contains(A::Manager) {
            *manager = None;
        }
        clear(A::ExternalId, external_id);
        extensions.clear();
    }

    /// An attribute's value as the text [`crate::AttrValue`]'s `Display` gives what
    /// [`UserAttributes::get`] reads (`true`, `Member`, the manager's id), borrowed
    /// where the user holds it as text; `None` when it has none.
    pub fn text_of(&self, a: UserAttribute) -> Option<Cow<'_, str>> {
        use UserAttribute as A;
        match a {
            A::UserPrincipalName => Some(Cow::Borrowed(self.user_principal_name.as_str())),
            A::Mail => self.mail.as_ref().map(|m| Cow::Borrowed(m.as_str())),
            A::AccountEnabled => Some(Cow::Borrowed(bool_text(self.account_enabled))),
            A::ShowInAddressList => self.show_in_address_list.map(|b| Cow::Borrowed(bool_text(b))),
            A::UserType => Some(Cow::Borrowed(self.user_type.as_str())),
            A::Manager => self.manager.map(|m| Cow::Owned(m.to_string())),
            A::DisplayName => text(&self.display_name),
            A::GivenName => text(&self.given_name),
            A::Surname => text(&self.surname),
            A::MailNickname => text(&self.mail_nickname),
            A::Department => text(&self.department),
            A::JobTitle => text(&self.job_title),
            A::CompanyName => text(&self.company_name),
            A::EmployeeId => text(&self.employee_id),
            A::OfficeLocation => text(&self.office_location),
            A::StreetAddress => text(&self.street_address),
            A::City => text(&self.city),
            A::State => text(&self.state),
            A::PostalCode => text(&self.postal_code),
            A::Country => text(&self.country),
            A::UsageLocation => text(&self.usage_location),
            A::PreferredLanguage => text(&self.preferred_language),
            A::TelephoneNumber => text(&self.telephone_number),
            A::MobilePhone => text(&self.mobile_phone),
            A::ExternalId => text(&self.external_id),
        }
    }
}

fn text(v: &Option<String>) -> Option<Cow<'_, str>> {
    v.as_deref().map(Cow::Borrowed)
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AttrValue, ObjectId, Upn, UserAttrName};

    fn full() -> UserAttributes {
        let mut u = UserAttributes::new(Upn::parse("adele@contoso.example").unwrap());
        for a in UserAttribute::ALL {
            let v = match a {
                UserAttribute::UserPrincipalName | UserAttribute::Manager => continue,
                UserAttribute::Mail => "adele@contoso.example".to_owned(),
                UserAttribute::AccountEnabled | UserAttribute::ShowInAddressList => "false".to_owned(),
                UserAttribute::UserType => "Guest".to_owned(),
                UserAttribute::UsageLocation => "FR".to_owned(),
                UserAttribute::PreferredLanguage => "fr-FR".to_owned(),
                other => format!("{other}-value"),
            };
            u.set(&UserAttrName::Builtin(*a), AttrValue::String(v)).unwrap();
        }
        u.manager = Some(ObjectId::new());
        u.set(&UserAttrName::parse("extension_0123456789abcdef0123456789abcdef_costCenter").unwrap(), AttrValue::String("42".into())).unwrap();
        u
    }

    #[test]
    fn text_of_reads_what_get_reads_as_display_writes_it() {
        let u = full();
        for a in UserAttribute::ALL {
            let got = u.get(&UserAttrName::Builtin(*a));
            let want = if got.is_null() { None } else { Some(got.to_string()) };
            assert_eq!(u.text_of(*a).map(Cow::into_owned), want, "{a}");
        }
        let empty = UserAttributes::new(Upn::parse("bob@contoso.example").unwrap());
        assert_eq!(empty.text_of(UserAttribute::City), None);
        assert_eq!(empty.text_of(UserAttribute::AccountEnabled).as_deref(), Some("true"));
    }

    #[test]
    fn retain_keeps_the_set_and_gives_the_rest_what_new_gives() {
        let keep: UserAttributeSet = [UserAttribute::City, UserAttribute::Mail, UserAttribute::AccountEnabled].into_iter().collect();
        assert!(keep.contains(UserAttribute::City) && !keep.contains(UserAttribute::State) && !keep.is_empty());
        let mut u = full();
        u.retain(keep);
        let fresh = UserAttributes::new(u.user_principal_name.clone());
        for a in UserAttribute::ALL {
            let name = UserAttrName::Builtin(*a);
            let want = if keep.contains(*a) || *a == UserAttribute::UserPrincipalName { full().get(&name) } else { fresh.get(&name) };
            assert_eq!(u.get(&name), want, "{a}");
        }
        assert!(u.extensions.is_empty());
        // Nothing kept: a new user's attributes.
        let mut none = full();
        none.retain(UserAttributeSet::default());
        assert_eq!(none, fresh);
    }
}
