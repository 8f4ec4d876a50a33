//! sea-orm entities of the auth tables. They never go on the wire: `http` maps them to DTOs.

pub mod audit_entry;
pub mod org;
pub mod org_member;
pub mod project_grant;
pub mod project_member;
pub mod service_account;
pub mod team;
pub mod team_member;
pub mod token;
pub mod user;
