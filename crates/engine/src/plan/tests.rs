//! Unit tests of planning: creates that read and that own their source user, and the
//! random source of mappings.
use super::*;
use tenantsync_domain::{AttributeMapping, SyncConfiguration, SystemClock, Upn, UserAttributes};

/// The plan's modified properties with the values left in its copy filled in, as
/// a store fills them.
fn filled(p: &Plan) -> Vec<ModifiedProperty> {
    let mut log = tenantsync_store::ProvisioningLog::new(
        tenantsync_domain::SyncConfigId::new(),
        p.source_id,
        String::new(),
        tenantsync_store::ProvisioningAction::Create,
        tenantsync_store::ProvisioningStatus::Success,
        jiff::Timestamp::UNIX_EPOCH,
    );
    log.modified_properties = p.modified.clone();
    log.op_index = Some(0);
    let mut logs = [log];
    tenantsync_store::fill_values_from(&mut logs, &p.ops);
    let [log] = logs;
    assert!(log.modified_properties.iter().all(|m| m.new_in_copy.is_none()));
    log.modified_properties
}

fn user(tenant: TenantId, name: &str) -> User {
    let attrs = UserAttributes::new(Upn::parse(&format!("{name}@fabrikam.example")).unwrap());
    User::created(tenant, ObjectId::new(), attrs, None, jiff::Timestamp::now())
}

#[test]
fn a_create_from_a_user_read_for_it_alone_moves_what_only_one_direct_mapping_reads() {
    let (source, target) = (TenantId::new(), TenantId::new());
    let mut config = SyncConfiguration::new("spend", source, target).unwrap();
    config.user_mappings = vec![
        // Only here: moved.
        AttributeMapping::direct("displayName", "displayName"),
        AttributeMapping::direct("mail", "mail"),
        // City twice, department by an expression too: copied.
        AttributeMapping::direct("city", "city"),
        AttributeMapping::direct("city", "officeLocation"),
        AttributeMapping::direct("department", "department"),
        AttributeMapping::expression("Join(\" \", [department], \"team\")", "jobTitle"),
    ];
    let c = Compiled::new(config).unwrap();
    assert!(c.shared_row().is_none(), "an expression reads the row");
    let plain = Compiled::new(SyncConfiguration::new("plain", source, target).unwrap()).unwrap();
    assert!(plain.shared_row().is_some(), "the default mappings (direct ones and constants) read nothing from a row");
    let movable: Vec<bool> = c.mappings.iter().map(|m| m.movable).collect();
    assert_eq!(movable, [true, true, false, false, false, false]);
    let same: Vec<bool> = c.mappings.iter().map(|m| m.same.is_some()).collect();
    assert_eq!(same, [true, true, true, false, true, false]);
    let mut user = user(source, "adele");
    user.attrs.display_name = Some("Adele Vance".into());
    user.attrs.mail = Some(tenantsync_domain::Mail::parse("adele@fabrikam.example").unwrap());
    user.attrs.city = Some("Lyon".into());
    user.attrs.department = Some("Sales".into());
    let domain = DomainName::parse("contoso.example").unwrap();
    let decide = |src: Src<'_>, dry: bool| {
        let planner = Planner { compiled: &c, source_tenant: source, target_domain: &domain, clock: &tenantsync_domain::SystemClock, dry };
        let input = ScopeInput { assigned_directly: true, assigned_groups: &[], member_of: &[] };
        plan(&planner, ObjectId::new(), Some(src), None, &input, None).unwrap()
    };
    let copy = |p: &Plan| match p.ops.first() {
        Some(WriteOp::CreateUser(new)) => new.attrs.clone(),
        other => panic!("not a create: {other:?}"),
    };
    let read = decide(Src::Read(&user), false);
    let mut spent = user.clone();
    let mut moved = decide(Src::Spend(&mut spent), false);
    assert!(moved.modified.iter().any(|m| m.new_in_copy.is_some()), "kept values are read from the copy");
    moved.modified = filled(&moved);
    // The same copy and record either way.
    assert_eq!(copy(&read), copy(&moved));
    assert_eq!(filled(&read), moved.modified);
    // The B2B name and the anchor as the record shows them, read from the copy.
    let value = |name: &str| moved.modified.iter().find(|m| m.display_name == name).and_then(|m| m.new_value.clone());
    assert_eq!(value("userPrincipalName").as_deref(), Some("adele_fabrikam.example#EXT#@contoso.example"));
    assert_eq!(value("anchor"), Some(Anchor::new(source, user.id).text()));
    assert_eq!(copy(&moved).job_title.as_deref(), Some("Sales team"));
    assert_eq!(copy(&moved).office_location.as_deref(), Some("Lyon"));
    // Moved out: the attributes as a whole; the user keeps its userPrincipalName (its
    // record's name).
    assert_eq!(spent.attrs, UserAttributes::new(user.attrs.user_principal_name.clone()));
    // A dry run moves nothing.
    let mut dry = user.clone();
    decide(Src::Spend(&mut dry), true);
    assert_eq!(dry.attrs, user.attrs);
}

proptest::proptest! {
    /// Whatever the mappings and the user, a create that owns its source user makes
    /// the copy and the modified properties a create reading it makes.
    #[test]
    fn a_moving_create_makes_what_a_reading_create_makes(
        values in proptest::collection::vec(proptest::option::of(0usize..3), UserAttribute::ALL.len()),
        picks in proptest::collection::vec((0usize..UserAttribute::ALL.len(), 0usize..UserAttribute::ALL.len(), 0usize..6), 0..14),
        enabled: bool,
        empty_city: bool,
    ) {
        let (source, target) = (TenantId::new(), TenantId::new());
        let mut user = user(source, "adele");
        for (a, v) in UserAttribute::ALL.iter().zip(&values) {
            let Some(v) = v else { continue };
            let text = match a {
                UserAttribute::UserPrincipalName | UserAttribute::Manager => continue,
                UserAttribute::Mail => format!("adele{v}@fabrikam.example"),
                UserAttribute::AccountEnabled | UserAttribute::ShowInAddressList => (v % 2 == 0).to_string(),
                UserAttribute::UserType => ["Member", "Guest"][v % 2].to_owned(),
                UserAttribute::UsageLocation => ["FR", "US", "DE"][*v].to_owned(),
                UserAttribute::PreferredLanguage => ["fr-FR", "en-US", "de"][*v].to_owned(),
                UserAttribute::MailNickname => format!("adele{v}"),
                other => format!("{other} {v}"),
            };
            user.attrs.set(&UserAttrName::Builtin(*a), AttrValue::String(text)).unwrap();
        }
        user.attrs.account_enabled = enabled;
        if empty_city {
            // Not written through the domain's checks (an older or restored row).
            user.attrs.city = Some(String::new());
        }
        user.attrs.manager = Some(ObjectId::new());
        let mut config = SyncConfiguration::new("moving", source, target).unwrap();
        config.user_mappings.clear();
        for (from, to, kind) in picks {
            let (from, to) = (UserAttribute::ALL[from], UserAttribute::ALL[to]);
            if to == UserAttribute::UserPrincipalName || config.user_mappings.iter().any(|m| m.target_attribute_name == to.name()) {
                continue;
            }
            let mut m = match kind {
                // To itself (most), with a default or not; to another attribute; a
                // constant; an expression reading the same attribute.
                0 | 1 => AttributeMapping::direct(to.name(), to.name()),
                2 => AttributeMapping::direct(from.name(), to.name()),
                3 => AttributeMapping::constant("true", to.name()),
                _ => AttributeMapping::expression(&format!("[{}]", from.name()), to.name()),
            };
            if kind == 1 {
                m.default_value = Some(match to {
                    UserAttribute::AccountEnabled | UserAttribute::ShowInAddressList => "false".to_owned(),
                    UserAttribute::UserType => "Guest".to_owned(),
                    UserAttribute::UsageLocation => "NL".to_owned(),
                    UserAttribute::Mail => "fallback@fabrikam.example".to_owned(),
                    _ => "fallback".to_owned(),
                });
            }
            config.user_mappings.push(m);
        }
        let c = Compiled::new(config).unwrap();
        let domain = DomainName::parse("contoso.example").unwrap();
        let planner = Planner { compiled: &c, source_tenant: source, target_domain: &domain, clock: &SystemClock, dry: false };
        let input = ScopeInput { assigned_directly: true, assigned_groups: &[], member_of: &[] };
        let outcome = |p: Result<Plan, PlanError>| p.map(|p| {
            let copy = match p.ops.first() {
                Some(WriteOp::CreateUser(new)) => Some(new.attrs.clone()),
                _ => None,
            };
            (copy, filled(&p), p.manager)
        }).map_err(|e| e.to_string());
        let read = outcome(plan(&planner, user.id, Some(Src::Read(&user)), None, &input, None));
        let mut spent = user.clone();
        let moved = outcome(plan(&planner, user.id, Some(Src::Spend(&mut spent)), None, &input, None));
        proptest::prop_assert_eq!(read, moved);
    }
}

#[test]
fn a_random_source_is_seeded_only_when_drawn_from_and_differs_per_user() {
    let mut unused = LazyRandom::default();
    assert!(unused.0.is_none());
    let first = unused.next_u64();
    assert!(unused.0.is_some());
    assert_ne!(first, unused.next_u64());

    // Each user's mappings draw from a source of their own: two users get different
    // values from the same random mapping, and a user's direct mappings still flow.
    let (source, target) = (TenantId::new(), TenantId::new());
    let mut config = SyncConfiguration::new("random", source, target).unwrap();
    config.user_mappings = vec![AttributeMapping::direct("displayName", "displayName"), AttributeMapping::expression("Guid()", "employeeId")];
    let c = Compiled::new(config).unwrap();
    let values = |u: &User| evaluate(&c, &mut Src::Read(u), &c.planning_row(u), true, false, &SystemClock).unwrap().values;
    let (a, b) = (values(&user(source, "adele")), values(&user(source, "bob")));
    let guid = |v: &[(UserAttrName, AttrValue, bool, bool)]| v.iter().find(|(n, ..)| n.as_str() == "employeeId").map(|(_, v, ..)| v.clone()).unwrap();
    assert_ne!(guid(&a), guid(&b));
    assert_eq!(guid(&a).as_str().map(str::len), Some(36));
}
