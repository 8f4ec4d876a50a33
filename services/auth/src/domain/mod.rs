//! Pure logic, no IO: the permission matrix ([`rbac`], [`actions`], rendered by [`rbac_doc`]),
//! validated names ([`names`]), password hashing ([`password`]) and API tokens ([`token`]).

pub mod facts;
pub mod names;
pub mod password;
pub mod rbac;
pub mod rbac_doc;
pub mod token;

pub use myelin_contracts::auth::{actions, roles};
