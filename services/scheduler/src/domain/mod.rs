//! Pure scheduling logic (no IO): preparing a run from its Polyaxonfile, and the decisions taken
//! when its status changes or a stop is requested.

pub mod decide;
pub mod prepare;
