//! Renders the permission matrix ([`super::rbac::rule`]) as `docs/rbac.md`.
//!
//! The test `rbac_doc_is_up_to_date` fails when the file differs from [`render`]; regenerate with
//! `UPDATE_RBAC_DOC=1 cargo test -p myelin-auth rbac_doc`.

use std::fmt::Write;

use super::rbac::{Action, OrgRole, Rule, Scope, TeamRole, rule};

/// The columns of the table: the outsider (no org role), then every org role.
pub const COLUMNS: [Option<OrgRole>; 6] = [
    None,
    Some(OrgRole::Viewer),
    Some(OrgRole::Member),
    Some(OrgRole::Admin),
    Some(OrgRole::Manager),
    Some(OrgRole::Owner),
];

/// What one cell of the table says for `role` under `rule`.
pub fn cell(rule: &Rule, role: Option<OrgRole>) -> String {
    if role.is_some_and(|r| r >= rule.org_wide) {
        return "yes".into();
    }
    let Some(via) = rule.via_team else {
        return "—".into();
    };
    if rule.via_team_min_org.is_some_and(|min| role < Some(min)) {
        return "—".into();
    }
    let administers_own = role >= Some(OrgRole::Admin);
    let mut text = match (rule.scope, administers_own) {
        (Scope::Team, true) => "own teams".to_owned(),
        (Scope::Team, false) => format!("as team {via}"),
        (_, true) => "granted projects".to_owned(),
        (_, false) if via == TeamRole::Member => "granted projects".to_owned(),
        (_, false) => format!("granted, as team {via}"),
    };
    if rule.target_team_administered {
        text.push_str(" (+ target team)");
    }
    text
}

/// The whole of `docs/rbac.md`.
pub fn render() -> String {
    let mut out = String::new();
    out.push_str(
        "<!-- Generated from services/auth/src/domain/rbac.rs; do not edit by hand.\n     \
         Regenerate: UPDATE_RBAC_DOC=1 cargo test -p myelin-auth rbac_doc -->\n\
         # Roles and permissions\n\n\
         Myelin's auth service answers `authorize(subject, action, resource)` with this matrix. Every\n\
         request through the gateway names one action; anything not listed is denied.\n\n\
         ## Org roles\n\n\
         | role | meaning |\n|---|---|\n\
         | outsider | not a member: only what a team they belong to, or they themselves, are granted |\n\
         | viewer | views runs and most org data |\n\
         | member | views, and acts on runs (create, stop, restart, delete, update) |\n\
         | admin | administers the teams they belong to and the projects granted to them; creates teams and projects |\n\
         | manager | admin on every team and project; adds and removes members |\n\
         | owner | everything, including deleting the organization |\n\n\
         ## Matrix\n\n\
         `yes`: on every resource of the org. `own teams`: on the teams the subject belongs to.\n\
         `granted projects`: on the projects granted to a team the subject belongs to, or to the subject\n\
         directly. `as team admin`: only where the subject's team (or direct project) role is admin.\n\
         `—`: never.\n\n\
         | action | what | outsider | viewer | member | admin | manager | owner |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for action in Action::ALL {
        let rule = rule(*action);
        let _ = write!(out, "| `{}` | {} |", action.name(), action.summary());
        for role in COLUMNS {
            let _ = write!(out, " {} |", cell(&rule, role));
        }
        out.push('\n');
    }
    out.push_str(
        "\n## Rules\n\n\
         - **Team promotion.** A user can be `member` or `admin` of a team whatever their org role (an\n  \
         outsider too). On the projects granted to that team, a team member gets the rights of an org\n  \
         `member` on runs, and a team admin also updates the project, manages its direct members and\n  \
         grants it to the other teams they administer. Deleting teams and projects through a team also\n  \
         needs the org role `admin`.\n\
         - **Project promotion.** A project can also be granted to a user directly, as `member` or\n  \
         `admin`, with the same rights on that project as the same role in a team it is granted to.\n\
         - **Org admins** administer every team they belong to and every project granted to them,\n  \
         whatever their team or project role there.\n\
         - **No escalation.** Nobody gives a role above their own, nor changes or removes a member (or a\n  \
         service account) whose role is above their own: only owners make owners, managers cannot touch\n  \
         owners. An organization always keeps at least one owner.\n\
         - **Not found, not forbidden.** A subject with no relation to an org (not a member, in none of\n  \
         its teams, granted none of its projects) is told the org does not exist (404); a related\n  \
         subject is told 403.\n\
         - **Service accounts** act with the org role they were created with, in their org only.\n\
         - **Audit.** Every mutating request is written to the org's audit log with its result.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rbac_doc_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rbac.md");
        let rendered = render();
        if std::env::var_os("UPDATE_RBAC_DOC").is_some() {
            std::fs::write(&path, &rendered).unwrap();
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            current == rendered,
            "docs/rbac.md is out of date: run `UPDATE_RBAC_DOC=1 cargo test -p myelin-auth rbac_doc`"
        );
    }
}
