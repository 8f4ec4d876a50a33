//! Bus side of the scheduler: the run-event consumer and its handlers, the dispatch loop, and the
//! status reports it publishes for the tracker.

pub mod dispatch;
pub mod events;
pub mod handlers;
pub mod reporter;
