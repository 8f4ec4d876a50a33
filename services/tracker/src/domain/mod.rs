//! Pure domain logic (no IO): lifecycle rules, list parameters, run construction and patches,
//! name rules.

pub mod lifecycle;
pub mod listing;
pub mod names;
pub mod runs;
