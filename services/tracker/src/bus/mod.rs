//! Bus side of the tracker: the outbox relay (publishes `run.*`/`project.*` events) and the
//! status-report consumer (applies `run.status.reported` from the scheduler and executors) and the
//! collected-series consumer (stores `run.events.collected` from collectors).

pub mod collected;
pub mod relay;
pub mod status_reports;
