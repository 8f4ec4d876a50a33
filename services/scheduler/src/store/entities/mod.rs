//! sea-orm entities of the scheduler's tables (never on the wire).

pub mod processed_event;
pub mod run;
