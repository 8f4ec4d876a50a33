#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The dashboard in a real browser (headless Chromium over WebDriver): `myelin server` is seeded
//! through the public API (a project, 30 runs with params, statuses and 300-point curves, a run with
//! a 20k-point curve, a CSV artifact, and a real run whose command waits for a file before printing
//! its last line), then the test opens the projects and runs pages, searches with PQL (and sees the
//! server's error inline for a bad query), sorts by a metric column, opens a run (timeline, chart
//! canvas, zoom that asks for a finer sample, CSV preview), watches a log line arrive live over SSE
//! while the run's status turns to succeeded without a reload, and compares two runs. It also saves
//! a view (PQL query, columns) and opens it again from its shareable URL, and sees the Vega-Lite and
//! Plotly figures a run logged as traceml `chart` events drawn on the run's Charts tab.
//!
//! Authentication: the server gets `MYELIN_ADMIN_PASSWORD`; when `POST /api/v1/auth/token` gives a
//! token, seeding uses it and the browser signs in through the app's form; a server without
//! authentication answers that route 404/405 and everything runs without a token.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use fantoccini::Locator;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use futures::{StreamExt, TryStreamExt};
use myelin_e2e::browser::{Browser, with_browser};
use myelin_e2e::{Proc, binary, unique_suffix};
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "dashboard-e2e-Secret-1";
const TRIALS: usize = 30;
const POINTS: i64 = 300;
const DENSE_POINTS: i64 = 20_000;
/// The dense run's last loss: above every trial's, so sorting by loss puts it after them.
const DENSE_LAST: f64 = 0.9;
const WAIT: Duration = Duration::from_secs(20);
const CSV: &str = "epoch,loss,accuracy\n1,0.9,0.51\n2,0.5,0.74\n3,\"0,3\",0.88\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pages_work_in_chromium() {
    myelin_e2e::init();
    let data = tempfile::tempdir().unwrap();
    let (server, url) = start_server(data.path()).await;
    let result = async {
        let api = Api::connect(&url).await?;
        let seeded = seed(&api, data.path()).await.context("seeding through the API")?;
        with_browser("dashboard", async |b: &Browser| scenario(b, &api, &seeded).await).await
    }
    .await;
    if let Err(err) = result {
        panic!("{err:#}\n\nserver logs:\n{}", server.logs());
    }
}

/// `myelin server` on a fresh data directory, with an admin password; answers it and its URL.
async fn start_server(data: &Path) -> (Proc, String) {
    let program = binary("myelin").unwrap_or_else(|e| panic!("{e:#}"));
    let data_dir = data.to_str().unwrap().to_owned();
    let mut server = Proc::spawn(
        "myelin-server",
        &program,
        &["server", "--data-dir", &data_dir, "--port", "0"],
        [("RUST_LOG", "warn"), ("MYELIN_ADMIN_PASSWORD", ADMIN_PASSWORD)],
    )
    .unwrap();
    let url = server
        .wait_stdout_line(WAIT, |line| line.strip_prefix("Myelin is ready at ").map(str::to_owned))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    (server, url)
}

/// The public API, with the token when the server gives one.
struct Api {
    http: Client,
    url: String,
    token: Option<String>,
    project: String,
}

impl Api {
    async fn connect(url: &str) -> anyhow::Result<Self> {
        let http = Client::builder().timeout(Duration::from_secs(30)).build()?;
        let login = http
            .post(format!("{url}/api/v1/auth/token"))
            .json(&json!({ "username": "admin", "password": ADMIN_PASSWORD }))
            .send()
            .await?;
        let token = match login.status().as_u16() {
            200 | 201 => Some(
                login.json::<Value>().await?["token"]
                    .as_str()
                    .context("token answer without `token`")?
                    .to_owned(),
            ),
            404 | 405 => None,
            status => bail!("POST /api/v1/auth/token answered {status}: {}", login.text().await?),
        };
        let project = format!("dash-{}", unique_suffix());
        Ok(Self {
            http,
            url: url.to_owned(),
            token,
            project,
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.url));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn send(&self, request: RequestBuilder) -> anyhow::Result<Value> {
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(status.is_success(), "HTTP {status}: {text}");
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(self.request(Method::POST, path).json(&body))
            .await
            .with_context(|| format!("POST {path}"))
    }

    fn runs(&self) -> String {
        format!("/api/v1/default/{}/runs", self.project)
    }

    fn page(&self, rest: &str) -> String {
        format!("{}/ui/default/{}{rest}", self.url, self.project)
    }
}

/// One seeded run with params and curves.
struct Trial {
    uuid: String,
    name: String,
    last_loss: f64,
    adam: bool,
}

struct Seeded {
    trials: Vec<Trial>,
    dense: String,
    live: String,
    go_file: std::path::PathBuf,
    marker: String,
}

fn final_loss(i: usize) -> f64 {
    0.05 + ((i * 7) % TRIALS) as f64 / 100.0
}

/// A decaying curve from 2.0 that ends exactly on `last` at step `points - 1`.
fn loss(last: f64, step: i64, points: i64) -> f64 {
    let t = step as f64;
    last + (2.0 - last) * (-t / 40.0).exp() * (1.0 - t / (points - 1) as f64)
        + 0.02 * (t * 0.7).sin().abs() * (1.0 - t / (points - 1) as f64)
}

async fn seed(api: &Api, dir: &Path) -> anyhow::Result<Seeded> {
    api.post("/api/v1/default/projects/create", json!({ "name": api.project }))
        .await?;
    let trials: Vec<Trial> = futures::stream::iter(0..TRIALS)
        .map(|i| seed_trial(api, i))
        .buffered(6)
        .try_collect()
        .await?;

    let dense = api
        .post(
            &api.runs(),
            json!({ "name": "dense", "is_managed": false, "managed_by": "user" }),
        )
        .await?;
    let dense = dense["uuid"].as_str().context("run without uuid")?.to_owned();
    let metrics: Vec<Value> = (0..DENSE_POINTS)
        .map(|s| json!({ "name": "loss", "value": loss(DENSE_LAST, s, DENSE_POINTS), "step": s }))
        .collect();
    api.post(&format!("{}/{dense}/events", api.runs()), json!({ "metrics": metrics }))
        .await?;
    log_charts(api, &trials[0].uuid).await.context("chart events")?;
    let csv = multipart("table.csv", CSV);
    api.send(
        api.request(
            Method::POST,
            &format!(
                "/streams/v1/polyaxon/default/{}/runs/{}/artifact",
                api.project, trials[0].uuid
            ),
        )
        .query(&[("path", "results")])
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(csv),
    )
    .await
    .context("artifact upload")?;

    let go_file = dir.join("go-live");
    let marker = format!("live-line-{}", unique_suffix());
    let polyaxonfile = format!(
        "version: 1.1\nkind: component\nname: live-logs\nrun:\n  kind: job\n  container:\n    image: busybox\n    \
         command: [sh, -c, 'echo dashboard-started; i=0; while [ ! -e {go} ] && [ $i -lt 1500 ]; do sleep 0.2; i=$((i+1)); done; echo {marker}']\n",
        go = go_file.display(),
    );
    let live = api
        .post(&api.runs(), json!({ "content": polyaxonfile, "managed_by": "agent" }))
        .await?;
    let live = live["uuid"].as_str().context("run without uuid")?.to_owned();
    Ok(Seeded {
        trials,
        dense,
        live,
        go_file,
        marker,
    })
}

async fn seed_trial(api: &Api, i: usize) -> anyhow::Result<Trial> {
    let name = format!("trial-{i:02}");
    let adam = i.is_multiple_of(2);
    let batch = [32, 64, 128][i % 3];
    let body = json!({
        "name": name, "is_managed": false, "managed_by": "user", "tags": ["dashboard"],
        "inputs": { "lr": 0.001 * (i + 1) as f64, "batch": batch, "optimizer": if adam { "adam" } else { "sgd" } },
    });
    let run = api.post(&api.runs(), body).await?;
    let uuid = run["uuid"].as_str().context("run without uuid")?.to_owned();
    let last_loss = final_loss(i);
    let metrics: Vec<Value> = (0..POINTS)
        .flat_map(|s| {
            let l = loss(last_loss, s, POINTS);
            [
                json!({ "name": "loss", "value": l, "step": s }),
                json!({ "name": "accuracy", "value": 1.0 - l / 2.0, "step": s }),
            ]
        })
        .collect();
    api.post(&format!("{}/{uuid}/events", api.runs()), json!({ "metrics": metrics }))
        .await?;
    let done = if i % 10 == 9 { "failed" } else { "succeeded" };
    for status in ["running", done] {
        let condition = json!({ "condition": { "type": status, "status": "True", "reason": "E2E" } });
        api.post(&format!("{}/{uuid}/statuses", api.runs()), condition).await?;
    }
    Ok(Trial {
        uuid,
        name,
        last_loss,
        adam,
    })
}

/// Logs what traceml's `log_chart` sends for an altair (Vega-Lite) figure — with a `calculate`
/// expression, which Vega evaluates through its CSP-safe interpreter — and for a Plotly figure
/// (two versions of it, steps 1 and 2).
async fn log_charts(api: &Api, uuid: &str) -> anyhow::Result<()> {
    let vega_lite = json!({
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": { "values": [{ "epoch": 1, "loss": 0.9 }, { "epoch": 2, "loss": 0.5 }, { "epoch": 3, "loss": 0.3 }] },
        "transform": [{ "calculate": "datum.loss * 100", "as": "percent" }],
        "mark": "bar",
        "encoding": {
            "x": { "field": "epoch", "type": "ordinal" },
            "y": { "field": "percent", "type": "quantitative" },
        },
    });
    let plotly = |scale: f64| {
        json!({
            "data": [{ "type": "scatter", "mode": "lines+markers", "x": [1, 2, 3], "y": [0.9 * scale, 0.5 * scale, 0.3 * scale], "name": "loss" }],
            "layout": { "title": { "text": "loss by epoch" }, "width": 420, "height": 300 },
        })
    };
    let events = json!([
        { "kind": "chart", "name": "loss-bars", "step": 3, "data": { "kind": "vega", "figure": vega_lite } },
        { "kind": "chart", "name": "loss-plotly", "step": 1, "data": { "kind": "plotly", "figure": plotly(2.0) } },
        { "kind": "chart", "name": "loss-plotly", "step": 2, "data": { "kind": "plotly", "figure": plotly(1.0) } },
    ]);
    api.post(&format!("{}/{uuid}/events", api.runs()), json!({ "events": events }))
        .await
        .map(drop)
}

/// Saves the searched table as a view, then opens its shareable URL in a fresh page load: the
/// query comes back from the tracker and filters the table again.
async fn saved_view(b: &Browser, api: &Api, seeded: &Seeded) -> anyhow::Result<()> {
    let query = "inputs.optimizer:adam";
    let expected = seeded.trials.iter().filter(|t| t.adam).count();
    b.goto(&api.page("/runs?query=inputs.optimizer%3Aadam&cols=inputs.lr,metrics.loss.min"))
        .await?;
    wait_count(b, expected).await?;
    b.client()
        .find(Locator::Css("#views-menu summary"))
        .await?
        .click()
        .await?;
    b.wait_text("#saved-views", "None yet", WAIT).await?;
    let name = format!("adam runs {}", unique_suffix());
    b.client()
        .find(Locator::Css("#view-name"))
        .await?
        .send_keys(&name)
        .await?;
    b.client()
        .find(Locator::Css("#save-view-button"))
        .await?
        .click()
        .await?;
    let url = b.wait_url("name the saved view", WAIT, |u| u.contains("view=")).await?;
    let uuid = url
        .split("view=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .context("no view uuid in the URL")?
        .to_owned();
    b.wait_text(&format!("#saved-views li[data-uuid=\"{uuid}\"]"), &name, WAIT)
        .await?;
    let stored = api
        .send(api.request(Method::GET, &format!("/api/v1/default/{}/searches/{uuid}", api.project)))
        .await?;
    ensure!(stored["name"] == json!(name), "stored view: {stored}");
    ensure!(stored["spec"]["query"] == json!(query), "stored view: {stored}");
    ensure!(
        stored["spec"]["columns"] == json!("inputs.lr,metrics.loss.min"),
        "stored view: {stored}"
    );

    b.goto(&api.page("/runs")).await?;
    wait_count(b, TRIALS + 2).await?;
    b.goto(&api.page(&format!("/runs?view={uuid}"))).await?;
    b.wait_url("apply the view", WAIT, |u| u.contains("query=") && u.contains("view="))
        .await?;
    wait_count(b, expected).await?;
    let shown = b.eval("return document.querySelector('#pql').value", vec![]).await?;
    ensure!(shown == json!(query), "the search box shows {shown}");
    b.wait_for("th[data-col=\"metrics.loss.min\"]", WAIT).await?;
    b.wait_for(&format!("#saved-views li.active[data-uuid=\"{uuid}\"]"), WAIT)
        .await?;
    Ok(())
}

/// The run page's Charts tab draws both logged figures (an `svg` each) and switches the Plotly
/// one to its earlier step.
async fn logged_charts(b: &Browser, api: &Api, seeded: &Seeded) -> anyhow::Result<()> {
    let uuid = &seeded.trials[0].uuid;
    b.goto(&api.page(&format!("/runs/{uuid}"))).await?;
    b.wait_for("#tab-charts", WAIT).await?;
    // Record Content-Security-Policy violations, then open the tab in the same document.
    b.eval(
        "window.__csp = []; document.addEventListener('securitypolicyviolation', \
         (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`)); \
         history.pushState(null, '', location.pathname + '?tab=charts'); \
         dispatchEvent(new PopStateEvent('popstate')); return true",
        vec![],
    )
    .await?;
    b.wait_for("#tab-charts[aria-selected=\"true\"]", WAIT).await?;
    let vega = "figure.logged-chart[data-name=\"loss-bars\"][data-kind=\"vega\"][data-rendered=\"true\"]";
    b.wait_for(&format!("{vega} svg"), WAIT).await?;
    let bars = b
        .eval(
            &format!("return document.querySelectorAll('{vega} svg .mark-rect path').length"),
            vec![],
        )
        .await?;
    ensure!(bars == json!(3), "{bars} Vega-Lite bars drawn, 3 expected");
    let plotly = "figure.logged-chart[data-name=\"loss-plotly\"][data-kind=\"plotly\"][data-rendered=\"true\"]";
    b.wait_for(&format!("{plotly} svg.main-svg"), WAIT).await?;
    b.wait_text(plotly, "2 versions", WAIT).await?;
    let points = b
        .eval(
            &format!("return document.querySelectorAll('{plotly} .scatterlayer .point').length"),
            vec![],
        )
        .await?;
    ensure!(points == json!(3), "{points} Plotly points drawn, 3 expected");
    let errors = b
        .eval(
            "return document.querySelectorAll('figure.logged-chart[data-error]').length",
            vec![],
        )
        .await?;
    ensure!(errors == json!(0), "{errors} charts failed to draw");
    let violations = b.eval("return window.__csp", vec![]).await?;
    ensure!(violations == json!([]), "CSP violations while drawing: {violations}");
    Ok(())
}

const BOUNDARY: &str = "myelin-e2e-boundary-7d1c";

fn multipart(file_name: &str, content: &str) -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"upload_file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n{content}\r\n--{BOUNDARY}--\r\n"
    )
}

async fn scenario(b: &Browser, api: &Api, seeded: &Seeded) -> anyhow::Result<()> {
    projects_page(b, api).await.context("projects page")?;
    search(b, api, seeded).await.context("PQL search")?;
    saved_view(b, api, seeded).await.context("saved view")?;
    sort_by_metric(b, api, seeded).await.context("sort by a metric")?;
    run_page(b, seeded).await.context("run page")?;
    logged_charts(b, api, seeded).await.context("logged charts")?;
    zoom(b, api, seeded).await.context("chart zoom")?;
    live_logs(b, api, seeded).await.context("live logs")?;
    compare(b, api, seeded).await.context("compare")?;
    Ok(())
}

/// Signs in through the app's form when the app asks (a server with authentication); answers
/// whether it asked.
async fn sign_in_if_asked(b: &Browser, ready: &str) -> anyhow::Result<bool> {
    let asked = b
        .wait_until("the page or the login form", WAIT, async |c: &fantoccini::Client| {
            if c.find(Locator::Css("#login-form")).await.is_ok() {
                return Ok(Some(true));
            }
            Ok(c.find(Locator::Css(ready)).await.is_ok().then_some(false))
        })
        .await?;
    if asked {
        let c = b.client();
        c.find(Locator::Css("#login-password"))
            .await?
            .send_keys("not-the-password")
            .await?;
        c.find(Locator::Css("#login-username"))
            .await?
            .send_keys("admin")
            .await?;
        c.find(Locator::Css("#login-submit")).await?.click().await?;
        let refused = b.wait_for("#login-error:not([hidden])", WAIT).await?.text().await?;
        ensure!(!refused.is_empty(), "a refused sign-in says why");
        let password = c.find(Locator::Css("#login-password")).await?;
        password.clear().await?;
        password.send_keys(ADMIN_PASSWORD).await?;
        c.find(Locator::Css("#login-submit")).await?.click().await?;
        b.wait_for(ready, WAIT).await?;
        b.wait_for("#sign-out", WAIT).await?;
    }
    Ok(asked)
}

async fn projects_page(b: &Browser, api: &Api) -> anyhow::Result<()> {
    b.goto(&format!("{}/", api.url)).await?;
    b.wait_url("be /ui", WAIT, |u| u.ends_with("/ui")).await?;
    let asked = sign_in_if_asked(b, "#projects-table").await?;
    ensure!(
        asked == api.token.is_some(),
        "the app asked to sign in: {asked}; the server gives tokens: {}",
        api.token.is_some()
    );
    b.wait_text("#projects-table a.project-link", &api.project, WAIT)
        .await?;
    b.client()
        .find(Locator::Css(&format!(
            "#projects-table tr[data-project=\"{}\"] a",
            api.project
        )))
        .await?
        .click()
        .await?;
    b.wait_url("open the runs page", WAIT, |u| {
        u.ends_with(&format!("/{}/runs", api.project))
    })
    .await?;
    wait_count(b, TRIALS + 2).await?;
    for col in ["inputs.lr", "inputs.optimizer", "metrics.loss", "metrics.accuracy"] {
        b.wait_for(&format!("th[data-col=\"{col}\"]"), WAIT).await?;
    }
    Ok(())
}

async fn wait_count(b: &Browser, expected: usize) -> anyhow::Result<()> {
    b.wait_for(&format!("#runs-count[data-count=\"{expected}\"]"), WAIT)
        .await
        .map(drop)
}

async fn type_query(b: &Browser, query: &str) -> anyhow::Result<()> {
    let input = b.client().find(Locator::Css("#pql")).await?;
    input.clear().await?;
    input.send_keys(query).await?;
    b.client()
        .find(Locator::Css("#search-form button[type=submit]"))
        .await?
        .click()
        .await?;
    Ok(())
}

async fn search(b: &Browser, api: &Api, seeded: &Seeded) -> anyhow::Result<()> {
    let query = "inputs.optimizer:adam, metrics.loss:<0.2";
    let expected = seeded.trials.iter().filter(|t| t.adam && t.last_loss < 0.2).count();
    ensure!(
        expected > 0 && expected < TRIALS,
        "a query that selects some runs ({expected})"
    );
    type_query(b, query).await?;
    b.wait_url("carry the query", WAIT, |u| u.contains("query=")).await?;
    wait_count(b, expected).await?;
    let statuses = b
        .eval(
            "return [...document.querySelectorAll('#runs-table tbody tr[data-uuid]')].length",
            vec![],
        )
        .await?;
    ensure!(statuses == json!(expected), "{statuses} rows for {expected} runs");

    let bad = "metrics.loss:<<0.2";
    let answer = api
        .request(Method::GET, &api.runs())
        .query(&[("query", bad)])
        .send()
        .await?;
    ensure!(
        answer.status().as_u16() == 400,
        "the bad query answered {}",
        answer.status()
    );
    let message = answer.json::<Value>().await?["message"]
        .as_str()
        .context("error without message")?
        .to_owned();
    type_query(b, bad).await?;
    let shown = b.wait_text("#pql-error", &message, WAIT).await?;
    ensure!(shown.contains("Invalid search"), "inline error: {shown}");
    wait_count(b, 0).await
}

async fn row_uuids(b: &Browser) -> anyhow::Result<Vec<String>> {
    let value = b
        .eval(
            "return [...document.querySelectorAll('#runs-table tbody tr[data-uuid]')].map(r => r.dataset.uuid)",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(value)?)
}

async fn sort_by_metric(b: &Browser, api: &Api, seeded: &Seeded) -> anyhow::Result<()> {
    b.goto(&api.page("/runs")).await?;
    wait_count(b, TRIALS + 2).await?;
    let mut by_loss: Vec<&Trial> = seeded.trials.iter().collect();
    by_loss.sort_by(|a, c| a.last_loss.total_cmp(&c.last_loss));
    // The dense run has the highest last loss; the live run has no loss and comes last either way.
    let mut ascending: Vec<String> = by_loss.iter().map(|t| t.uuid.clone()).collect();
    ascending.push(seeded.dense.clone());
    let descending: Vec<String> = ascending.iter().rev().cloned().collect();
    for (order, expected) in [("ascending", ascending), ("descending", descending)] {
        b.client()
            .find(Locator::Css("th[data-col=\"metrics.loss\"] button.sort"))
            .await?
            .click()
            .await?;
        b.wait_for(&format!("th[data-col=\"metrics.loss\"][aria-sort=\"{order}\"]"), WAIT)
            .await?;
        let rows = b
            .wait_until(&format!("rows sorted {order}"), WAIT, async |_: &fantoccini::Client| {
                let rows = row_uuids(b).await?;
                Ok((rows.len() > TRIALS && rows[..=TRIALS] == expected[..]).then_some(rows))
            })
            .await?;
        ensure!(
            rows.last() == Some(&seeded.live),
            "the run without the metric sorts last"
        );
    }
    b.wait_url("carry the sort", WAIT, |u| u.contains("sort=-metrics.loss"))
        .await?;
    Ok(())
}

async fn run_page(b: &Browser, seeded: &Seeded) -> anyhow::Result<()> {
    let best = seeded
        .trials
        .iter()
        .min_by(|a, c| a.last_loss.total_cmp(&c.last_loss))
        .context("no trial")?;
    b.client()
        .find(Locator::Css(&format!("tr[data-uuid=\"{}\"] a.run-link", best.uuid)))
        .await?
        .click()
        .await?;
    b.wait_url("open the run", WAIT, |u| u.contains(&best.uuid)).await?;
    b.wait_text("#run-name", &best.name, WAIT).await?;
    b.wait_text("#run-status", "succeeded", WAIT).await?;
    b.wait_for("#timeline tr.condition[data-type=\"running\"]", WAIT)
        .await?;
    b.wait_text("#inputs", "optimizer", WAIT).await?;
    b.client().find(Locator::Css("#tab-metrics")).await?.click().await?;
    b.wait_url("show the metrics tab", WAIT, |u| u.contains("tab=metrics"))
        .await?;
    b.wait_for("figure.chart[data-metric=\"loss\"] canvas", WAIT).await?;
    b.wait_for(
        "figure.chart[data-metric=\"accuracy\"][data-points=\"300\"] canvas",
        WAIT,
    )
    .await?;
    b.wait_text("#metric-summaries", "loss", WAIT).await?;

    b.client().find(Locator::Css("#tab-artifacts")).await?.click().await?;
    b.client()
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#artifacts-tree a[href*=\"path=results\"]"))
        .await?
        .click()
        .await?;
    b.client()
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("a[data-path=\"results/table.csv\"]"))
        .await?
        .click()
        .await?;
    b.wait_text("#artifact-csv tbody tr:nth-child(3)", "0,3", WAIT).await?;
    Ok(())
}

async fn zoom(b: &Browser, api: &Api, seeded: &Seeded) -> anyhow::Result<()> {
    b.goto(&api.page(&format!("/runs/{}?tab=metrics", seeded.dense)))
        .await?;
    let chart = "figure.chart[data-metric=\"loss\"]";
    b.wait_for(&format!("{chart} canvas"), WAIT).await?;
    let overview = b
        .eval(
            &format!("return Number(document.querySelector('{chart}').dataset.points)"),
            vec![],
        )
        .await?;
    let overview = overview.as_u64().context("no point count")?;
    ensure!(
        (3..=1000).contains(&overview),
        "the overview holds {overview} points (the server samples to 1000)"
    );
    let over = b.client().find(Locator::Css(&format!("{chart} .u-over"))).await?;
    let (x, y, width, height) = over.rectangle().await?;
    let at = y + height / 2.0;
    let drag = MouseActions::new("mouse".to_owned())
        .then(PointerAction::MoveTo {
            duration: None,
            x: x + width * 0.45,
            y: at,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveTo {
            duration: Some(Duration::from_millis(200)),
            x: x + width * 0.5,
            y: at,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    b.client().perform_actions(drag).await?;
    // A 5% window of 20k points asks the server for a 20k sample, then draws the window's points.
    b.wait_for(&format!("{chart}[data-zoomed=\"true\"][data-sample=\"20000\"]"), WAIT)
        .await?;
    Ok(())
}

async fn live_logs(b: &Browser, api: &Api, seeded: &Seeded) -> anyhow::Result<()> {
    b.goto(&api.page(&format!("/runs/{}?tab=logs", seeded.live))).await?;
    b.wait_text("#logs", "dashboard-started", Duration::from_secs(90))
        .await?;
    b.wait_text("#run-status", "running", WAIT).await?;
    b.eval("window.__sameDocument = true; return null", vec![]).await?;
    std::fs::write(&seeded.go_file, b"go").context("cannot create the go file")?;
    b.wait_text("#logs", &seeded.marker, Duration::from_secs(60)).await?;
    b.wait_text("#log-state", "end of log", Duration::from_secs(60)).await?;
    b.wait_text("#run-status", "succeeded", Duration::from_secs(30)).await?;
    let same = b.eval("return window.__sameDocument === true", vec![]).await?;
    ensure!(same == json!(true), "the page reloaded");
    Ok(())
}

async fn compare(b: &Browser, api: &Api, seeded: &Seeded) -> anyhow::Result<()> {
    b.goto(&api.page("/runs")).await?;
    wait_count(b, TRIALS + 2).await?;
    let (first, second) = (&seeded.trials[0], &seeded.trials[1]);
    for t in [first, second] {
        b.client()
            .find(Locator::Css(&format!("tr[data-uuid=\"{}\"] td.select input", t.uuid)))
            .await?
            .click()
            .await?;
    }
    b.wait_text("#compare-selected", "(2)", WAIT).await?;
    // The checkboxes scrolled the page: bring the toolbar out from under the sticky header.
    b.eval("window.scrollTo(0, 0); return null", vec![]).await?;
    b.client()
        .find(Locator::Css("#compare-selected"))
        .await?
        .click()
        .await?;
    let url = b
        .wait_url("open the comparison", WAIT, |u| u.contains("/compare?uuids="))
        .await?;
    ensure!(url.contains(&first.uuid) && url.contains(&second.uuid), "{url}");
    b.wait_text("#compare-runs", &first.name, WAIT).await?;
    b.wait_text("#compare-runs", &second.name, WAIT).await?;
    b.wait_for("figure.chart[data-metric=\"loss\"] canvas", WAIT).await?;
    b.wait_for("#diff-table tr.differs[data-key=\"lr\"]", WAIT).await?;
    b.wait_for("canvas#parallel", WAIT).await?;
    let legend = b
        .eval(
            "return document.querySelectorAll('figure.chart[data-metric=\"loss\"] .u-legend .u-series').length",
            vec![],
        )
        .await?;
    ensure!(
        legend == json!(3),
        "the loss chart shows {legend} legend rows (step + 2 runs expected)"
    );
    Ok(())
}

const BENCH_RUNS: usize = 10_000;
const BENCH_POINTS: i64 = 1_000_000;
const BENCH_BATCH: i64 = 20_000;

/// Numbers for `docs/benchmarks.md`, not part of the suite (it seeds 10k runs and a 1M-point
/// metric, minutes in a debug build): `cargo nextest run -p myelin-e2e --test dashboard
/// --run-ignored only --no-capture`. Prints the time from asking for a page to the page being usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: seeds 10k runs and a 1M-point metric"]
async fn dashboard_numbers() {
    myelin_e2e::init();
    let data = tempfile::tempdir().unwrap();
    let (server, url) = start_server(data.path()).await;
    let result = async {
        let api = Api::connect(&url).await?;
        let started = std::time::Instant::now();
        let big = seed_bench(&api).await.context("seeding")?;
        println!(
            "seeded {BENCH_RUNS} runs and a {BENCH_POINTS}-point metric in {:.1?}",
            started.elapsed()
        );
        with_browser("dashboard-numbers", async |b: &Browser| measure(b, &api, &big).await).await
    }
    .await;
    if let Err(err) = result {
        panic!("{err:#}\n\nserver logs:\n{}", server.logs());
    }
}

async fn seed_bench(api: &Api) -> anyhow::Result<String> {
    api.post("/api/v1/default/projects/create", json!({ "name": api.project }))
        .await?;
    futures::stream::iter(0..BENCH_RUNS)
        .map(|i| async move {
            let body = json!({
                "name": format!("bench-{i:05}"), "is_managed": false, "managed_by": "user",
                "inputs": { "lr": 0.0001 * (i % 100 + 1) as f64, "batch": 16 << (i % 4) },
            });
            let run = api.post(&api.runs(), body).await?;
            let uuid = run["uuid"].as_str().context("run without uuid")?.to_owned();
            let metrics: Vec<Value> = (0..10)
                .map(|s| json!({ "name": "loss", "value": loss(final_loss(i % TRIALS), s, 10), "step": s }))
                .collect();
            api.post(&format!("{}/{uuid}/events", api.runs()), json!({ "metrics": metrics }))
                .await?;
            anyhow::Ok(())
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    let big = api
        .post(
            &api.runs(),
            json!({ "name": "one-million", "is_managed": false, "managed_by": "user" }),
        )
        .await?;
    let big = big["uuid"].as_str().context("run without uuid")?.to_owned();
    for start in (0..BENCH_POINTS).step_by(BENCH_BATCH as usize) {
        let metrics: Vec<Value> = (start..start + BENCH_BATCH)
            .map(|s| json!({ "name": "loss", "value": loss(0.1, s, BENCH_POINTS), "step": s }))
            .collect();
        api.post(&format!("{}/{big}/events", api.runs()), json!({ "metrics": metrics }))
            .await?;
    }
    Ok(big)
}

/// The time from `goto` to `ready` matching, `rounds` times (a fresh page load each).
async fn timed(b: &Browser, url: &str, ready: &str, rounds: usize) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::new();
    for _ in 0..rounds {
        b.goto("about:blank").await?;
        let started = std::time::Instant::now();
        b.goto(url).await?;
        b.wait_for(ready, Duration::from_secs(120)).await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times)
}

async fn measure(b: &Browser, api: &Api, big: &str) -> anyhow::Result<()> {
    b.goto(&format!("{}/ui", api.url)).await?;
    sign_in_if_asked(b, "#projects-table").await?;
    // Usable: the 50th row is drawn with its metric column (the summaries are read before drawing).
    let rows = "#runs-table tbody tr:nth-child(50)[data-uuid] td[data-col=\"metrics.loss\"]";
    for (label, path) in [
        ("runs page (newest first)", "/runs".to_owned()),
        ("runs page sorted by metrics.loss", "/runs?sort=metrics.loss".to_owned()),
        (
            "runs page, PQL metrics.loss:<0.2",
            "/runs?query=metrics.loss%3A%3C0.2".to_owned(),
        ),
    ] {
        let times = timed(b, &api.page(&path), rows, 5).await?;
        println!(
            "{label}: median {:.0?} (min {:.0?}, max {:.0?})",
            times[2], times[0], times[4]
        );
    }
    let chart = "figure.chart[data-metric=\"loss\"]";
    let times = timed(
        b,
        &api.page(&format!("/runs/{big}?tab=metrics")),
        &format!("{chart}[data-points] canvas"),
        3,
    )
    .await?;
    println!(
        "run page with a 1M-point metric, chart drawn: median {:.0?} (min {:.0?})",
        times[1], times[0]
    );
    let over = b.client().find(Locator::Css(&format!("{chart} .u-over"))).await?;
    let (x, y, width, height) = over.rectangle().await?;
    let at = y + height / 2.0;
    let started = std::time::Instant::now();
    let drag = MouseActions::new("mouse".to_owned())
        .then(PointerAction::MoveTo {
            duration: None,
            x: x + width * 0.5,
            y: at,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveTo {
            duration: None,
            x: x + width * 0.505,
            y: at,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    b.client().perform_actions(drag).await?;
    b.wait_for(
        &format!("{chart}[data-zoomed=\"true\"][data-sample=\"100000\"]"),
        Duration::from_secs(120),
    )
    .await?;
    println!(
        "zoom to 0.5% of it, finer sample (100k) fetched and drawn: {:.0?}",
        started.elapsed()
    );
    Ok(())
}
