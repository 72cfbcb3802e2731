//! The SCIM Group ↔ the directory group: id, externalId, displayName, members (direct
//! user members of the same tenant).
use crate::error::{ScimError, ScimResult};
use crate::filter::{Resolver, Slot, Target};
use crate::json;
use crate::schema::GROUP_SCHEMA;
use serde_json::{Value, json};
use tenantsync_domain::{AttrValue, Group, GroupAttribute as G, GroupAttributes, GroupPatch, ObjectId, User};
use tenantsync_store::Field;

pub fn to_json(g: &Group, members: Option<&[User]>, base: &str) -> Value {
    let mut v = json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id.to_string(),
        "displayName": g.attrs.display_name,
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(x) = &g.attrs.external_id {
            obj.insert("externalId".into(), x.clone().into());
        }
        if let Some(members) = members {
            let list: Vec<Value> = members
                .iter()
                .map(|u| {
                    let mut m = json!({ "value": u.id.to_string(), "$ref": format!("{base}/Users/{}", u.id), "type": "User" });
                    if let (Some(mo), Some(d)) = (m.as_object_mut(), u.attrs.display_name.as_ref()) {
                        mo.insert("display".into(), d.clone().into());
                    }
                    m
                })
                .collect();
            obj.insert("members".into(), Value::Array(list));
        }
        obj.insert(
            "meta".into(),
            json!({
                "resourceType": "Group",
                "created": g.created_date_time.to_string(),
                "lastModified": g.last_modified_date_time.to_string(),
                "location": format!("{base}/Groups/{}", g.id),
                "version": g.version.etag(),
            }),
        );
    }
    v
}

/// What a SCIM group document asks for.
#[derive(Debug)]
pub struct Desired {
    pub display_name: String,
    pub external_id: Option<String>,
    /// `None` when the document has no `members` (PUT then leaves members alone).
    pub members: Option<Vec<ObjectId>>,
}

pub fn member_ids(v: &Value) -> ScimResult<Vec<ObjectId>> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        Value::Null => Vec::new(),
        _ => return Err(ScimError::invalid_value("members must be an array of {\"value\": id}")),
    };
    let mut out = Vec::new();
    for item in items {
        let id = item
            .as_object()
            .and_then(|o| json::get(o, "value"))
            .and_then(Value::as_str)
            .ok_or_else(|| ScimError::invalid_value("each member needs a value (the user's id)"))?;
        let id = id.parse().map_err(|_| ScimError::invalid_value(format!("member '{id}' is not a user of this tenant")))?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

pub fn from_json(doc: &Value) -> ScimResult<Desired> {
    crate::schema::validate::check_document(&crate::schema::model::GROUP_MODEL, doc)?;
    let o = doc.as_object().ok_or_else(|| ScimError::invalid_syntax("the body must be a JSON object"))?;
    let display_name = json::get(o, "displayName").and_then(json::text).ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    let external_id = match json::get(o, "externalId") {
        None | Some(Value::Null) => None,
        Some(v) => Some(json::text(v).ok_or_else(|| ScimError::invalid_value("externalId must be a string"))?),
    };
    let members = json::get(o, "members").map(member_ids).transpose()?;
    Ok(Desired { display_name, external_id, members })
}

pub fn new_attrs(d: &Desired) -> ScimResult<GroupAttributes> {
    let mut a = GroupAttributes::new(&d.display_name)?;
    a.set(G::ExternalId, d.external_id.clone().map_or(AttrValue::Null, AttrValue::String))?;
    Ok(a)
}

pub fn diff(current: &Group, d: &Desired) -> ScimResult<GroupPatch> {
    let mut next = current.attrs.clone();
    let mut patch = GroupPatch::default();
    for (a, v) in
        [(G::DisplayName, AttrValue::String(d.display_name.clone())), (G::ExternalId, d.external_id.clone().map_or(AttrValue::Null, AttrValue::String))]
    {
        next.set(a, v.clone())?;
        if next.get(a) != current.attrs.get(a) {
            patch.set.push((a, v));
        }
    }
    Ok(patch)
}

#[derive(Debug, Clone, Copy)]
pub struct GroupPaths;

impl Resolver for GroupPaths {
    fn resolve(&self, uri: Option<&str>, name: &str, sub: Option<&str>) -> ScimResult<Target> {
        let unknown = || ScimError::invalid_filter(format!("unknown attribute '{name}'"));
        if let Some(u) = uri
            && !u.eq_ignore_ascii_case(GROUP_SCHEMA)
        {
            return Err(unknown());
        }
        let s = sub.map(str::to_ascii_lowercase);
        Ok(match (name.to_ascii_lowercase().as_str(), s.as_deref()) {
            ("id", None) => Target::Slot(Slot::Field(Field::Id, false)),
            ("externalid", None) => Target::Slot(Slot::Field(Field::Group(G::ExternalId), false)),
            ("displayname", None) => Target::Slot(Slot::Field(Field::Group(G::DisplayName), true)),
            ("members", _) => Target::Links { field: Field::Member, ty: "User", name: "members" },
            ("meta", None) => Target::Slot(Slot::Text("")),
            ("meta", Some("created")) => Target::Slot(Slot::Field(Field::Created, false)),
            ("meta", Some("lastmodified")) => Target::Slot(Slot::Field(Field::LastModified, false)),
            ("meta", Some("resourcetype")) => Target::Slot(Slot::Text("Group")),
            _ => return Err(unknown()),
        })
    }
}
