//! Telemetry: the process-wide `tracing` subscriber (pretty or JSON lines on stderr, filtered by
//! `level` or `RUST_LOG`) and, when `otlp_endpoint` is set, a trace exporter over OTLP/HTTP protobuf
//! with `service.name` = the service. Also W3C trace-context (`traceparent`) propagation helpers for
//! bus message headers and HTTP headers, so one trace follows a request across processes.
//!
//! The OTLP exporter runs its HTTP client on a small runtime of its own: the SDK exports from a
//! dedicated thread, so it cannot borrow the application's runtime, and flushing on shutdown must not
//! depend on which runtime (if any) the caller is on.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HeaderExtractor, HeaderInjector, HttpClient, HttpError};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How log lines are written.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (colored on a terminal).
    #[default]
    Pretty,
    /// One JSON object per line, with the current span's fields (`request_id`, ...).
    Json,
}

/// The `telemetry` section every service's settings embed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct TelemetrySettings {
    pub format: LogFormat,
    /// An `EnvFilter` directive (`info`, `myelin_tracker=debug,info`). `RUST_LOG`, when set, wins.
    pub level: String,
    /// OTLP/HTTP collector base URL (`http://127.0.0.1:4318`); traces go to `<endpoint>/v1/traces`.
    /// No traces are exported when unset.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
            otlp_endpoint: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `init` already ran in this process, or another global subscriber is installed.
    #[error("telemetry is already initialized in this process")]
    AlreadyInitialized,
    #[error("invalid log filter `{directive}`: {message}")]
    Filter { directive: String, message: String },
    #[error("cannot build the OTLP exporter for {endpoint}: {message}")]
    Exporter { endpoint: String, message: String },
    #[error("cannot start the OTLP export runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

static INITIALIZED: AtomicBool = AtomicBool::new(false);

/// Keeps the exporter alive; dropping it flushes pending spans and shuts the exporter down.
#[must_use = "dropping the guard shuts telemetry down"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("telemetry: cannot flush traces on shutdown: {err}");
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Installs the global subscriber for `service`. Call once, early in `main`, and keep the guard until exit.
/// A second call returns [`Error::AlreadyInitialized`].
pub fn init(service: &str, settings: &TelemetrySettings) -> Result<TelemetryGuard, Error> {
    if INITIALIZED.swap(true, Ordering::SeqCst) {
        return Err(Error::AlreadyInitialized);
    }
    let result = install(service, settings);
    if matches!(
        result,
        Err(Error::Filter { .. } | Error::Exporter { .. } | Error::Runtime(_))
    ) {
        INITIALIZED.store(false, Ordering::SeqCst); // nothing was installed: a corrected retry may succeed
    }
    result
}

fn install(service: &str, settings: &TelemetrySettings) -> Result<TelemetryGuard, Error> {
    let directive = match std::env::var("RUST_LOG") {
        Ok(env) if !env.trim().is_empty() => env,
        _ => settings.level.clone(),
    };
    let filter = EnvFilter::try_new(&directive).map_err(|e| Error::Filter {
        directive: directive.clone(),
        message: e.to_string(),
    })?;

    let mut guard = TelemetryGuard {
        provider: None,
        runtime: None,
    };
    if let Some(endpoint) = settings.otlp_endpoint.as_deref().filter(|e| !e.trim().is_empty()) {
        crate::install_crypto_provider();
        let (provider, runtime) = otlp_provider(service, endpoint)?;
        guard.provider = Some(provider);
        guard.runtime = Some(runtime);
    }
    let otel_layer = guard
        .provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service.to_owned())));

    let fmt_layer = match settings.format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(fmt_layer)
        .with(otel_layer)
        .with(filter)
        .try_init()
        .map_err(|_| Error::AlreadyInitialized)?;
    Ok(guard)
}

fn otlp_provider(service: &str, endpoint: &str) -> Result<(SdkTracerProvider, tokio::runtime::Runtime), Error> {
    let exporter_error = |message: String| Error::Exporter {
        endpoint: endpoint.to_owned(),
        message,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("otlp-export")
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| exporter_error(e.to_string()))?;
    let base = endpoint.trim_end_matches('/');
    let url = if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(RuntimeHttpClient {
            client,
            runtime: runtime.handle().clone(),
        })
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .build()
        .map_err(|e| exporter_error(e.to_string()))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service.to_owned()).build())
        .build();
    Ok((provider, runtime))
}

/// An async reqwest client whose requests run on the exporter's own runtime.
#[derive(Debug)]
struct RuntimeHttpClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait]
impl HttpClient for RuntimeHttpClient {
    async fn send_bytes(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let task = self.runtime.spawn(async move { client.send_bytes(request).await });
        task.await.map_err(|e| Box::new(e) as HttpError)?
    }
}

/// Writes the current span's trace context (`traceparent`, `tracestate`) into bus message headers.
/// Writes nothing when no trace is being recorded.
pub fn inject_context(headers: &mut Map<String, Value>) {
    TraceContextPropagator::new().inject_context(&tracing::Span::current().context(), &mut JsonHeaders(headers));
}

/// Reads the trace context carried by bus message headers (an empty context when there is none).
pub fn extract_context(headers: &Map<String, Value>) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&JsonHeadersRef(headers))
}

/// Makes `span` (a consumer's span) a child of the trace carried by bus message headers.
pub fn set_parent(span: &tracing::Span, headers: &Map<String, Value>) {
    let _ = span.set_parent(extract_context(headers));
}

/// Writes the current span's trace context into outgoing HTTP headers.
pub fn inject_http_headers(headers: &mut http::HeaderMap) {
    TraceContextPropagator::new().inject_context(&tracing::Span::current().context(), &mut HeaderInjector(headers));
}

/// Reads the trace context of an incoming HTTP request.
pub fn extract_http_headers(headers: &http::HeaderMap) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

struct JsonHeaders<'a>(&'a mut Map<String, Value>);

impl Injector for JsonHeaders<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), Value::String(value));
    }
}

struct JsonHeadersRef<'a>(&'a Map<String, Value>);

impl Extractor for JsonHeadersRef<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceContextExt;
    use tracing::info_span;

    use super::*;

    #[test]
    fn trace_context_travels_through_bus_and_http_headers() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let publish = info_span!("publish");
            let _entered = publish.enter();
            let trace_id = publish.context().span().span_context().trace_id();

            let mut headers = Map::new();
            headers.insert("x-other".into(), Value::from(1));
            inject_context(&mut headers);
            let traceparent = headers["traceparent"].as_str().unwrap();
            assert!(
                traceparent.starts_with("00-") && traceparent.contains(&trace_id.to_string()),
                "{traceparent}"
            );

            let extracted = extract_context(&headers);
            assert!(extracted.span().span_context().is_remote());
            assert_eq!(extracted.span().span_context().trace_id(), trace_id);

            let consume = info_span!("consume");
            set_parent(&consume, &headers);
            assert_eq!(consume.context().span().span_context().trace_id(), trace_id);

            let mut http_headers = http::HeaderMap::new();
            inject_http_headers(&mut http_headers);
            assert_eq!(
                extract_http_headers(&http_headers).span().span_context().trace_id(),
                trace_id
            );
        });

        // Outside any recorded trace: nothing to inject, nothing extracted.
        let mut headers = Map::new();
        inject_context(&mut headers);
        assert!(headers.is_empty());
        assert!(!extract_context(&headers).span().span_context().is_valid());
    }

    #[test]
    fn settings_defaults_and_wire_names() {
        let s = TelemetrySettings::default();
        assert_eq!(
            (s.format, s.level.as_str(), s.otlp_endpoint),
            (LogFormat::Pretty, "info", None)
        );
        let s: TelemetrySettings = serde_json::from_str(r#"{"format": "json"}"#).unwrap();
        assert_eq!(s.format, LogFormat::Json);
        assert_eq!(s.level, "info");
        assert!(serde_json::from_str::<TelemetrySettings>(r#"{"format": "xml"}"#).is_err());
    }
}
