//! Finding things the way a person names them: a form field by its label (or aria-label,
//! id, name), a button or link by its text. The search runs in the page as one script, so
//! it sees what the browser computed (`label.control`, `innerText`), and when nothing
//! matches a second script lists what there is, for the error message.
use crate::BrowserError;
use fantoccini::Client;
use fantoccini::elements::{Element, ElementRef};
use serde_json::Value;

/// The WebDriver key of an element reference in a script's result.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Shared by the scripts: whitespace-collapsed text, and whether an element is shown.
const PRELUDE: &str = r#"
const norm = s => (s || '').replace(/\s+/g, ' ').trim();
const shown = e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
const controls = 'input:not([type=hidden]),select,textarea';
const labelText = l => { const c = l.cloneNode(true); c.querySelectorAll('input,select,textarea').forEach(x => x.remove()); return norm(c.textContent); };
"#;

/// `arguments[0]`: a label's text, an aria-label, an id or a name.
const FIELD: &str = r#"
const key = norm(arguments[0]);
for (const l of document.querySelectorAll('label')) {
  if (labelText(l) === key && l.control) return l.control;
}
for (const e of document.querySelectorAll(controls)) {
  if (norm(e.getAttribute('aria-label')) === key) return e;
  const by = e.getAttribute('aria-labelledby');
  if (by && norm(by.split(/\s+/).map(i => (document.getElementById(i) || {}).textContent || '').join(' ')) === key) return e;
}
const byId = document.getElementById(arguments[0]);
if (byId && byId.matches(controls)) return byId;
for (const e of document.getElementsByName(arguments[0])) { if (e.matches(controls)) return e; }
return null;
"#;

const FIELDS: &str = r#"
return Array.from(document.querySelectorAll(controls)).map(e => {
  const l = e.labels && e.labels.length ? labelText(e.labels[0]) : norm(e.getAttribute('aria-label'));
  return l ? l : (e.id ? '#' + e.id : (e.name ? 'name=' + e.name : e.tagName.toLowerCase()));
});
"#;

const CLICKABLE: &str = "button,a[href],input[type=submit],input[type=button],input[type=reset],[role=button],[role=link],summary";

/// `arguments[0]`: the visible text, value or aria-label of a button or link; shown ones first.
const BUTTON: &str = r#"
const key = norm(arguments[0]);
const all = Array.from(document.querySelectorAll(CLICKABLE));
const named = e => [norm(e.innerText), norm(e.value), norm(e.getAttribute('aria-label'))].includes(key);
return all.find(e => shown(e) && named(e)) || all.find(named) || null;
"#;

const BUTTONS: &str = r#"
return Array.from(document.querySelectorAll(CLICKABLE)).filter(shown).map(e => norm(e.innerText) || norm(e.value) || norm(e.getAttribute('aria-label'))).filter(t => t);
"#;

fn script(body: &str) -> String {
    format!("{PRELUDE}{}", body.replace("CLICKABLE", &format!("'{CLICKABLE}'")))
}

/// Turns a script's result into an element, if it is one.
fn element(client: &Client, value: Value) -> Option<Element> {
    let id = value.get(ELEMENT_KEY)?.as_str()?.to_owned();
    Some(Element::from_element_id(client.clone(), ElementRef::from(id)))
}

async fn run(client: &Client, body: &str, key: &str, action: &str) -> Result<Value, BrowserError> {
    client.execute(&script(body), vec![Value::String(key.to_owned())]).await.map_err(BrowserError::webdriver(action.to_owned()))
}

async fn listing(client: &Client, body: &str, what: &str) -> String {
    match client.execute(&script(body), vec![]).await {
        Ok(Value::Array(items)) if !items.is_empty() => {
            let names: Vec<String> = items.iter().map(|i| format!("'{}'", i.as_str().unwrap_or_default())).collect();
            format!(" ({what}: {})", names.join(", "))
        }
        _ => format!(" (no {what})"),
    }
}

async fn url(client: &Client) -> String {
    client.current_url().await.map(|u| u.to_string()).unwrap_or_else(|_| "the page".to_owned())
}

/// The form control labelled `key` (label text, aria-label, aria-labelledby, id or name).
pub(crate) async fn field(client: &Client, key: &str) -> Result<Element, BrowserError> {
    let found = run(client, FIELD, key, &format!("looking for the field '{key}'")).await?;
    match element(client, found) {
        Some(e) => Ok(e),
        None => {
            Err(BrowserError::NotFound { what: format!("no field labelled '{key}'"), url: url(client).await, hint: listing(client, FIELDS, "fields").await })
        }
    }
}

/// The button or link whose text (or value, or aria-label) is `key`.
pub(crate) async fn button(client: &Client, key: &str) -> Result<Element, BrowserError> {
    let found = run(client, BUTTON, key, &format!("looking for the button '{key}'")).await?;
    match element(client, found) {
        Some(e) => Ok(e),
        None => Err(BrowserError::NotFound {
            what: format!("no button or link '{key}'"),
            url: url(client).await,
            hint: listing(client, BUTTONS, "buttons and links").await,
        }),
    }
}
