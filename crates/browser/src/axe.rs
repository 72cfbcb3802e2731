//! axe-core in the page: the installed `axe.min.js` is injected with WebDriver's execute
//! (which no Content-Security-Policy of the page stops), run on the whole document, and its
//! violations parsed into [`Violation`]s.
use crate::BrowserError;
use fantoccini::Client;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How much a violation hurts, in axe's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    Minor,
    Moderate,
    Serious,
    Critical,
}

/// One element a rule fails on.
#[derive(Debug, Clone, Deserialize)]
pub struct AxeNode {
    /// The CSS selector(s) of the element (one per frame or shadow root on the way down).
    #[serde(deserialize_with = "selectors")]
    pub target: Vec<String>,
    pub html: String,
    #[serde(rename = "failureSummary", default)]
    pub failure_summary: Option<String>,
}

/// One rule the page breaks, with the elements that break it.
#[derive(Debug, Clone, Deserialize)]
pub struct Violation {
    /// The rule's id, e.g. `label`, `color-contrast`, `image-alt`.
    pub id: String,
    pub impact: Option<Impact>,
    pub description: String,
    pub help: String,
    #[serde(rename = "helpUrl")]
    pub help_url: String,
    pub nodes: Vec<AxeNode>,
}

impl Violation {
    /// Serious or critical: what the console's tests do not accept.
    pub fn is_serious(&self) -> bool {
        self.impact >= Some(Impact::Serious)
    }
}

/// Targets are strings, or arrays of strings for elements inside frames or shadow roots.
fn selectors<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let raw = Vec::<Value>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|v| match v {
            Value::String(s) => s,
            Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" >>> "),
            other => other.to_string(),
        })
        .collect())
}

/// The violations as lines: rule id (impact): help, its URL, then each offending selector.
pub fn report(violations: &[Violation]) -> String {
    let mut out = String::new();
    for v in violations {
        let impact = v.impact.map_or("unknown".to_owned(), |i| format!("{i:?}").to_lowercase());
        out.push_str(&format!("- {} ({impact}): {} <{}>\n", v.id, v.help, v.help_url));
        for node in &v.nodes {
            out.push_str(&format!("    at {}  {}\n", node.target.join(", "), node.html));
        }
    }
    out
}

/// axe.min.js read once per path (it is about half a megabyte).
static SOURCES: Mutex<Option<HashMap<PathBuf, String>>> = Mutex::new(None);

fn source(path: &Path) -> Result<String, BrowserError> {
    let mut cache = SOURCES.lock().map_err(|_| BrowserError::Unexpected("a test panicked while reading axe-core".into()))?;
    let cache = cache.get_or_insert_with(HashMap::new);
    if let Some(js) = cache.get(path) {
        return Ok(js.clone());
    }
    let js = std::fs::read_to_string(path).map_err(BrowserError::io(format!("reading {}", path.display())))?;
    cache.insert(path.to_path_buf(), js.clone());
    Ok(js)
}

/// Runs axe on the current document (injecting it when the page does not have it yet).
pub(crate) async fn run(client: &Client, axe_js: &Path) -> Result<Vec<Violation>, BrowserError> {
    let loaded = client.execute("return typeof window.axe === 'object';", vec![]).await.map_err(BrowserError::webdriver("looking for axe-core in the page"))?;
    if loaded != Value::Bool(true) {
        let js = source(axe_js)?;
        client.execute(&js, vec![]).await.map_err(BrowserError::webdriver("injecting axe-core"))?;
    }
    let script = "const done = arguments[arguments.length - 1];\
        window.axe.run(document, { resultTypes: ['violations'] })\
          .then(r => done(JSON.stringify(r.violations)))\
          .catch(e => done('axe failed: ' + e));";
    let answer = client.execute_async(script, vec![]).await.map_err(BrowserError::webdriver("running axe-core"))?;
    let text = answer.as_str().unwrap_or_default();
    if text.starts_with("axe failed") {
        return Err(BrowserError::Unexpected(text.to_owned()));
    }
    serde_json::from_str(text).map_err(|e| BrowserError::Unexpected(format!("axe-core's violations could not be read: {e}")))
}
