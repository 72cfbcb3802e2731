//! Finds (and on first use installs) Chromium, chromedriver and axe-core through the
//! repository's `.ci/chromium install`, the one place that knows how, so that a plain
//! `cargo test` on a fresh machine works as CI's `.ci/run` does.
use crate::BrowserError;
use std::path::{Path, PathBuf};
use tokio::sync::OnceCell;

/// Where the tools are.
#[derive(Debug, Clone)]
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
    /// `axe.min.js` of axe-core 4.
    pub axe: PathBuf,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// The cargo target directory: `CARGO_TARGET_DIR` when set (relative to the workspace),
/// else the one the running test binary was built into (`<target>/<profile>/deps/<bin>`),
/// else the workspace's `target`.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() { dir } else { workspace_root().join(dir) };
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(deps) = exe.parent()
        && deps.file_name().is_some_and(|n| n == "deps")
        && let Some(target) = deps.parent().and_then(Path::parent)
    {
        return target.to_path_buf();
    }
    workspace_root().join("target")
}

/// `<target dir>/console-screenshots`: the folder CI keeps as the console tests' artefact.
pub fn screenshot_root() -> PathBuf {
    target_dir().join("console-screenshots")
}

static TOOLS: OnceCell<Tools> = OnceCell::const_new();

/// Runs `.ci/chromium install` once per process (it installs only what is missing) and
/// returns the paths it prints.
pub async fn tools() -> Result<Tools, BrowserError> {
    TOOLS.get_or_try_init(install).await.cloned()
}

async fn install() -> Result<Tools, BrowserError> {
    let script = workspace_root().join(".ci").join("chromium");
    let out = tokio::process::Command::new("bash")
        .arg(&script)
        .arg("install")
        .env("CARGO_TARGET_DIR", target_dir())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| BrowserError::Install(format!("running {}: {e}", script.display())))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(BrowserError::Install(format!("{} {}\n{}{}", script.display(), out.status, stdout, String::from_utf8_lossy(&out.stderr))));
    }
    let path = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| BrowserError::Install(format!("no {key}= line in what it printed:\n{stdout}")))
    };
    let tools = Tools { chromium: path("chromium")?, chromedriver: path("chromedriver")?, axe: path("axe")? };
    if !tools.axe.is_file() {
        return Err(BrowserError::Install(format!("{} is missing after the install", tools.axe.display())));
    }
    Ok(tools)
}
