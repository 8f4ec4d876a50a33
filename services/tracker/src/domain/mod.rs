//! Pure domain logic (no IO): lifecycle rules, list parameters, run construction and patches,
//! name rules, metric/event ingestion rules, series and their downsampling.

pub mod chunk;
pub mod events;
pub mod lifecycle;
pub mod listing;
pub mod names;
pub mod runs;
pub mod sampling;
pub mod series;
pub mod series_json;
pub mod views;
