//! One Chromium session and the helpers a console test is written with. Each helper names
//! what it looked for in its error, and the waits say what the page showed instead.
use crate::{BrowserError, Window, axe, find};
use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A browser's screenshot folder and its running number (shared by its sessions, so the
/// files of a journey through two sessions sort in the order they were taken).
#[derive(Debug)]
pub(crate) struct Shots {
    dir: PathBuf,
    taken: AtomicUsize,
}

impl Shots {
    pub(crate) fn new(dir: PathBuf) -> Shots {
        Shots { dir, taken: AtomicUsize::new(0) }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A cookie as the browser holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    pub path: Option<String>,
    pub domain: Option<String>,
    pub http_only: bool,
    pub secure: bool,
    /// `Strict`, `Lax` or `None`, as the server set it.
    pub same_site: Option<String>,
}

/// How often the waits look again.
const POLL: Duration = Duration::from_millis(50);

/// One headless Chromium window with its own profile and cookie jar.
#[derive(Debug)]
pub struct Page {
    client: Client,
    shots: std::sync::Arc<Shots>,
    axe_js: PathBuf,
    window: Window,
}

impl Page {
    pub(crate) async fn new(client: Client, shots: std::sync::Arc<Shots>, axe_js: PathBuf, window: Window) -> Result<Page, BrowserError> {
        Ok(Page { client, shots, axe_js, window })
    }

    /// The fantoccini client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The window size this session was opened with.
    pub fn window(&self) -> Window {
        self.window
    }

    /// Loads `url` and waits for it to finish loading.
    pub async fn goto(&self, url: &str) -> Result<(), BrowserError> {
        self.client.goto(url).await.map_err(BrowserError::webdriver(format!("loading {url}")))
    }

    /// The current URL.
    pub async fn url(&self) -> Result<String, BrowserError> {
        Ok(self.client.current_url().await.map_err(BrowserError::webdriver("reading the current URL"))?.to_string())
    }

    /// The page's title.
    pub async fn title(&self) -> Result<String, BrowserError> {
        self.client.title().await.map_err(BrowserError::webdriver("reading the title"))
    }

    /// Types `value` into the field labelled `field` (label text, aria-label, id or name),
    /// replacing what it held; for a `<select>`, picks the option with that text or value.
    pub async fn fill(&self, field: &str, value: &str) -> Result<(), BrowserError> {
        let element = find::field(&self.client, field).await?;
        let action = || format!("filling '{field}'");
        if element.tag_name().await.map_err(BrowserError::webdriver(action()))?.eq_ignore_ascii_case("select") {
            return match element.select_by_label(value).await {
                Ok(()) => Ok(()),
                Err(_) => element.select_by_value(value).await.map_err(BrowserError::webdriver(format!("choosing '{value}' in '{field}'"))),
            };
        }
        element.clear().await.map_err(BrowserError::webdriver(action()))?;
        element.send_keys(value).await.map_err(BrowserError::webdriver(action()))
    }

    /// Ticks (`true`) or unticks the checkbox or radio button labelled `field`.
    pub async fn check(&self, field: &str, on: bool) -> Result<(), BrowserError> {
        let element = find::field(&self.client, field).await?;
        let selected = element.is_selected().await.map_err(BrowserError::webdriver(format!("reading '{field}'")))?;
        if selected != on {
            element.click().await.map_err(BrowserError::webdriver(format!("clicking '{field}'")))?;
        }
        Ok(())
    }

    /// The value a field holds now.
    pub async fn value(&self, field: &str) -> Result<String, BrowserError> {
        let element = find::field(&self.client, field).await?;
        Ok(element.prop("value").await.map_err(BrowserError::webdriver(format!("reading '{field}'")))?.unwrap_or_default())
    }

    /// Clicks the button or link whose text (or value, or aria-label) is `text`, and waits
    /// for a navigation it starts to load.
    pub async fn click(&self, text: &str) -> Result<(), BrowserError> {
        let element = find::button(&self.client, text).await?;
        element.click().await.map_err(BrowserError::webdriver(format!("clicking '{text}'")))
    }

    /// The first element matching the CSS selector.
    pub async fn find(&self, css: &str) -> Result<Element, BrowserError> {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => Ok(e),
            Err(e) if e.is_no_such_element() => {
                Err(BrowserError::NotFound { what: format!("nothing matches '{css}'"), url: self.url().await?, hint: String::new() })
            }
            Err(e) => Err(BrowserError::webdriver(format!("finding '{css}'"))(e)),
        }
    }

    /// Every element matching the CSS selector.
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, BrowserError> {
        self.client.find_all(Locator::Css(css)).await.map_err(BrowserError::webdriver(format!("finding '{css}'")))
    }

    /// The visible text of the first element matching the CSS selector.
    pub async fn text(&self, css: &str) -> Result<String, BrowserError> {
        self.find(css).await?.text().await.map_err(BrowserError::webdriver(format!("reading the text of '{css}'")))
    }

    /// The visible text of the whole page.
    pub async fn body_text(&self) -> Result<String, BrowserError> {
        let text = self.script("return document.body ? document.body.innerText : '';", vec![]).await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// Waits until an element matches the CSS selector, and returns it.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element, BrowserError> {
        let started = Instant::now();
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(e) => return Ok(e),
                Err(e) if e.is_no_such_element() => {}
                Err(e) => return Err(BrowserError::webdriver(format!("finding '{css}'"))(e)),
            }
            if started.elapsed() >= timeout {
                return Err(self.timeout(format!("'{css}'"), started).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the page's visible text contains `text`.
    pub async fn wait_for_text(&self, text: &str, timeout: Duration) -> Result<(), BrowserError> {
        let started = Instant::now();
        loop {
            if self.body_text().await?.contains(text) {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                return Err(self.timeout(format!("the text '{text}'"), started).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the current URL contains `part`, and returns it.
    pub async fn wait_for_url(&self, part: &str, timeout: Duration) -> Result<String, BrowserError> {
        let started = Instant::now();
        loop {
            let url = self.url().await?;
            if url.contains(part) {
                return Ok(url);
            }
            if started.elapsed() >= timeout {
                return Err(self.timeout(format!("a URL containing '{part}'"), started).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn timeout(&self, what: String, started: Instant) -> BrowserError {
        let url = self.url().await.unwrap_or_default();
        let mut text = self.body_text().await.unwrap_or_default().replace('\n', " / ");
        if text.chars().count() > 400 {
            text = text.chars().take(400).collect::<String>() + "…";
        }
        BrowserError::Timeout { what, url, waited_ms: started.elapsed().as_millis(), text }
    }

    /// Runs JavaScript in the page (`arguments[i]` are `args`) and returns what it returns.
    pub async fn script(&self, js: &str, args: Vec<Value>) -> Result<Value, BrowserError> {
        self.client.execute(js, args).await.map_err(BrowserError::webdriver("running a script"))
    }

    /// The viewport's size in CSS pixels (`innerWidth` × `innerHeight`).
    pub async fn viewport(&self) -> Result<(u64, u64), BrowserError> {
        let size = self.script("return [window.innerWidth, window.innerHeight];", vec![]).await?;
        match (size.get(0).and_then(Value::as_u64), size.get(1).and_then(Value::as_u64)) {
            (Some(w), Some(h)) => Ok((w, h)),
            _ => Err(BrowserError::Unexpected(format!("the viewport's size came back as {size}"))),
        }
    }

    /// The cookies the browser holds for the current page.
    pub async fn cookies(&self) -> Result<Vec<Cookie>, BrowserError> {
        let all = self.client.get_all_cookies().await.map_err(BrowserError::webdriver("reading the cookies"))?;
        Ok(all
            .into_iter()
            .map(|c| Cookie {
                name: c.name().to_owned(),
                value: c.value().to_owned(),
                path: c.path().map(str::to_owned),
                domain: c.domain().map(str::to_owned),
                http_only: c.http_only().unwrap_or(false),
                secure: c.secure().unwrap_or(false),
                same_site: c.same_site().map(|s| s.to_string()),
            })
            .collect())
    }

    /// The cookie called `name`, if the browser holds one for the current page.
    pub async fn cookie(&self, name: &str) -> Result<Option<Cookie>, BrowserError> {
        Ok(self.cookies().await?.into_iter().find(|c| c.name == name))
    }

    /// Saves the viewport as `<target>/console-screenshots/<test>/<NN>-<name>.png` (NN counts
    /// the browser's screenshots from 01) and returns the path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, BrowserError> {
        let png = self.client.screenshot().await.map_err(BrowserError::webdriver(format!("taking the screenshot '{name}'")))?;
        let n = self.shots.taken.fetch_add(1, Ordering::Relaxed) + 1;
        let safe: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
        let path = self.shots.dir.join(format!("{n:02}-{safe}.png"));
        tokio::fs::create_dir_all(&self.shots.dir).await.map_err(BrowserError::io(format!("creating {}", self.shots.dir.display())))?;
        tokio::fs::write(&path, png).await.map_err(BrowserError::io(format!("writing {}", path.display())))?;
        Ok(path)
    }

    /// Runs axe-core on the page and returns every violation (all impacts).
    pub async fn axe(&self) -> Result<Vec<axe::Violation>, BrowserError> {
        axe::run(&self.client, &self.axe_js).await
    }

    /// Fails, listing each rule, its impact, its help and the offending elements, when axe
    /// finds a `serious` or `critical` violation on the page.
    pub async fn assert_accessible(&self) -> Result<(), BrowserError> {
        let serious: Vec<axe::Violation> = self.axe().await?.into_iter().filter(axe::Violation::is_serious).collect();
        if serious.is_empty() {
            return Ok(());
        }
        Err(BrowserError::Inaccessible { url: self.url().await?, report: axe::report(&serious) })
    }

    /// Ends the session (its Chromium quits); dropping the [`crate::Browser`] does it too.
    pub async fn close(self) -> Result<(), BrowserError> {
        self.client.close().await.map_err(BrowserError::webdriver("closing the session"))
    }
}
