//! sea-orm entities of the tracker's tables. They never go on the wire: `store::convert` maps them
//! to `myelin_contracts` types.

pub mod outbox;
pub mod owner;
pub mod project;
pub mod run;
pub mod run_event;
pub mod run_lineage;
pub mod run_metric_chunk;
pub mod run_metric_summary;
pub mod view;
