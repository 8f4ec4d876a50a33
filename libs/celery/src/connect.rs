//! Broker and result backend from Celery-style URLs, as `celery -b URL --result-backend URL`
//! takes them: `amqp://` (RabbitMQ), `redis://` (kombu's Redis layout), `memory://` (in-process);
//! results on `redis://`, `rpc://` or `disabled`.

use std::sync::Arc;

use myelin_common::bus::SharedBus;
use myelin_common::bus::amqp::{AmqpBus, AmqpSettings};
use myelin_common::bus::memory::MemoryBus;

use crate::backend::{ResultBackend, backend_from_url};
use crate::broker::KombuRedisBus;
use crate::error::{Error, Result};

/// Connects to the broker named by `url`. Celery's `amqp://guest@host//` (an empty vhost path
/// meaning `/`) is accepted as written.
pub async fn broker(url: &str) -> Result<SharedBus> {
    let scheme = url.split("://").next().unwrap_or_default();
    match scheme {
        "amqp" | "amqps" | "pyamqp" => {
            let url = amqp_url(url);
            Ok(Arc::new(AmqpBus::connect(&url, AmqpSettings::default()).await?))
        }
        "redis" | "rediss" => Ok(Arc::new(KombuRedisBus::connect(url).await?)),
        "memory" => Ok(Arc::new(MemoryBus::new())),
        _ => Err(Error::Config(format!(
            "unsupported broker URL '{url}' (amqp://, redis:// or memory://)"
        ))),
    }
}

/// The result backend named by `url` on `bus` (`rpc://` replies over it); `None` for `disabled`.
pub async fn backend(url: &str, bus: SharedBus) -> Result<Option<Arc<dyn ResultBackend>>> {
    backend_from_url(url, Some(bus))
        .await
        .map_err(|e| Error::Config(format!("result backend '{url}': {e}")))
}

/// Celery spells the default vhost as an empty path segment (`amqp://h//`) and accepts
/// `pyamqp://`; lapin wants `%2f` and `amqp://`.
fn amqp_url(url: &str) -> String {
    let url = url.strip_prefix("py").unwrap_or(url);
    match url.strip_suffix("//") {
        Some(base) if !base.ends_with(':') => format!("{base}/%2f"),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::amqp_url;

    #[test]
    fn celery_amqp_urls_become_lapin_urls() {
        assert_eq!(amqp_url("amqp://guest:guest@h:5672//"), "amqp://guest:guest@h:5672/%2f");
        assert_eq!(amqp_url("pyamqp://h//"), "amqp://h/%2f");
        assert_eq!(amqp_url("amqp://h/%2f"), "amqp://h/%2f");
        assert_eq!(amqp_url("amqp://h/vh"), "amqp://h/vh");
    }
}
