//! [`Browser`]: a headless Chromium driven over WebDriver (`fantoccini`) for the dashboard tests.
//!
//! It starts Debian's `chromedriver` on a free port and opens a session on `/usr/bin/chromium` with a
//! fresh profile and the flags CI needs (`--headless --no-sandbox --disable-gpu ...`). A missing
//! Chromium or driver is an error that says how to install them (`scripts/browser-deps.sh`), never a
//! skip. [`with_browser`] runs a scenario and, when it fails, saves a screenshot and the page's HTML
//! to `target/browser-failures/<name>.png|.html` before closing the session.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::{Proc, free_port, target_dir};

/// Debian's Chromium (package `chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's driver for it (package `chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How often the `wait_*` helpers look again (also the resolution of the timings taken with them).
const POLL: Duration = Duration::from_millis(25);

/// A Chromium session and the driver process behind it; call [`Browser::close`] when done (dropping
/// it kills the driver, which takes the browser down with it).
pub struct Browser {
    client: Client,
    name: String,
    _driver: Proc,
    _profile: TempDir,
}

impl Browser {
    /// Starts `chromedriver` and a headless session. `name` names the failure files.
    pub async fn start(name: &str) -> anyhow::Result<Self> {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            if !Path::new(path).is_file() {
                bail!(
                    "{path} is missing: the browser tests need Debian's `{package}` \
                     (run scripts/browser-deps.sh, or apt-get install chromium chromium-driver)"
                );
            }
        }
        let port = free_port()?;
        let mut driver = Proc::spawn(
            "chromedriver",
            Path::new(CHROMEDRIVER),
            &[&format!("--port={port}")],
            std::iter::empty::<(&str, &str)>(),
        )?;
        let url = format!("http://127.0.0.1:{port}");
        wait_driver(&mut driver, &url).await?;
        let profile = tempfile::Builder::new()
            .prefix("myelin-chromium-")
            .tempdir()
            .context("cannot create a Chromium profile folder")?;
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--window-size=1400,1000",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), json!({ "binary": CHROMIUM, "args": args }));
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
            .with_context(|| format!("cannot open a Chromium session through chromedriver\n{}", driver.logs()))?;
        Ok(Self {
            client,
            name: name.to_owned(),
            _driver: driver,
            _profile: profile,
        })
    }

    /// The WebDriver client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `url` and waits for the document to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("cannot open {url}"))
    }

    /// The current URL.
    pub async fn url(&self) -> anyhow::Result<String> {
        Ok(self.client.current_url().await?.to_string())
    }

    /// Waits until an element matches `css`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> anyhow::Result<Element> {
        self.wait_until(&format!("an element `{css}`"), timeout, async |c: &Client| {
            Ok(c.find(Locator::Css(css)).await.ok())
        })
        .await
    }

    /// Waits until an element matching `css` shows text containing `needle`; answers that text.
    pub async fn wait_text(&self, css: &str, needle: &str, timeout: Duration) -> anyhow::Result<String> {
        self.wait_until(&format!("`{css}` to show {needle:?}"), timeout, async |c: &Client| {
            for el in c.find_all(Locator::Css(css)).await? {
                let text = el.text().await.unwrap_or_default();
                if text.contains(needle) {
                    return Ok(Some(text));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Waits until the URL satisfies `pick`.
    pub async fn wait_url(&self, what: &str, timeout: Duration, pick: impl Fn(&str) -> bool) -> anyhow::Result<String> {
        self.wait_until(&format!("the URL to {what}"), timeout, async |c: &Client| {
            let url = c.current_url().await?.to_string();
            Ok(pick(&url).then_some(url))
        })
        .await
    }

    /// Runs `probe` every 25 ms until it answers `Some`, failing after `timeout` with `what`.
    pub async fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        probe: impl AsyncFn(&Client) -> anyhow::Result<Option<T>>,
    ) -> anyhow::Result<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let last = match probe(&self.client).await {
                Ok(Some(found)) => return Ok(found),
                Ok(None) => None,
                Err(err) => Some(err),
            };
            if tokio::time::Instant::now() >= deadline {
                let url = self.url().await.unwrap_or_default();
                let last = last.map(|e| format!(" (last error: {e:#})")).unwrap_or_default();
                bail!("waited {timeout:?} for {what} on {url}{last}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) in the page and answers its result.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.client
            .execute(script, args)
            .await
            .context("script failed in the page")
    }

    /// Saves a screenshot and the page's HTML as `target/browser-failures/<name>.png|.html`.
    pub async fn save_failure(&self) -> anyhow::Result<(PathBuf, PathBuf)> {
        let dir = target_dir()?
            .parent()
            .map(|p| p.join("browser-failures"))
            .context("the target folder has no parent")?;
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let png = dir.join(format!("{}.png", self.name));
        let html = dir.join(format!("{}.html", self.name));
        let shot = self.client.screenshot().await.context("cannot take a screenshot")?;
        std::fs::write(&png, shot).with_context(|| format!("cannot write {}", png.display()))?;
        let source = self.client.source().await.context("cannot read the page")?;
        std::fs::write(&html, source).with_context(|| format!("cannot write {}", html.display()))?;
        Ok((png, html))
    }

    /// Ends the session (closes Chromium).
    pub async fn close(self) -> anyhow::Result<()> {
        self.client.close().await.context("cannot close the Chromium session")
    }
}

async fn wait_driver(driver: &mut Proc, url: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = driver.exited()? {
            bail!("chromedriver exited with {status}\n{}", driver.logs());
        }
        if let Ok(resp) = http.get(format!("{url}/status")).send().await
            && let Ok(body) = resp.json::<Value>().await
            && body["value"]["ready"] == true
        {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("chromedriver was not ready within 20 s\n{}", driver.logs());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Starts a [`Browser`], runs `scenario` with it and closes it. When the scenario fails, the
/// screenshot and HTML are saved first and their paths added to the error.
pub async fn with_browser<T>(
    name: &str,
    scenario: impl AsyncFnOnce(&Browser) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let browser = Browser::start(name).await?;
    let result = scenario(&browser).await;
    match result {
        Ok(value) => {
            browser.close().await?;
            Ok(value)
        }
        Err(err) => {
            let saved = match browser.save_failure().await {
                Ok((png, html)) => format!("screenshot: {}, page: {}", png.display(), html.display()),
                Err(e) => format!("could not save a screenshot: {e:#}"),
            };
            let _ = browser.close().await;
            Err(err.context(saved))
        }
    }
}
