//! The matrix, cell by cell, against a table written here independently of [`super::rule`], plus the
//! escalation cases.

use super::*;

/// One row of the expected matrix (`tests/rbac_matrix.txt`, shared with the HTTP test): the
/// action, then per situation six letters over outsider..owner.
struct Row {
    action: String,
    situations: Vec<String>,
}

fn expected() -> Vec<Row> {
    include_str!("../../tests/rbac_matrix.txt")
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let mut fields = line.split_whitespace().map(str::to_owned);
            let action = fields.next().unwrap();
            let situations: Vec<String> = fields.collect();
            assert_eq!(situations.len(), SITUATIONS.len(), "bad line: {line}");
            Row { action, situations }
        })
        .collect()
}

/// The situations of the table's columns: (name, team memberships, direct project grants).
const SITUATIONS: [(&str, Option<TeamRole>, Option<TeamRole>); 5] = [
    ("in no team", None, None),
    ("team member", Some(TeamRole::Member), None),
    ("team admin", Some(TeamRole::Admin), None),
    ("project member", None, Some(TeamRole::Member)),
    ("project admin", None, Some(TeamRole::Admin)),
];

const ROLES: [Option<OrgRole>; 6] = [
    None,
    Some(OrgRole::Viewer),
    Some(OrgRole::Member),
    Some(OrgRole::Admin),
    Some(OrgRole::Manager),
    Some(OrgRole::Owner),
];

fn subject(org_role: Option<OrgRole>, teams: &[(&str, TeamRole)]) -> SubjectFacts {
    SubjectFacts {
        org_role,
        teams: teams
            .iter()
            .map(|(team, role)| TeamMembership {
                team: (*team).into(),
                role: *role,
            })
            .collect(),
        projects: Vec::new(),
    }
}

fn on_team_t() -> ResourceFacts {
    ResourceFacts {
        team: Some("t".into()),
        project: Some("p".into()),
        project_teams: vec!["t".into()],
        ..ResourceFacts::default()
    }
}

fn letter(decision: &Decision) -> char {
    match decision {
        Decision::Allow => 'A',
        Decision::Deny {
            status: DenyStatus::NotFound,
            ..
        } => 'N',
        Decision::Deny {
            status: DenyStatus::Forbidden,
            ..
        } => 'F',
    }
}

#[test]
fn every_cell_of_the_matrix() {
    let expected = expected();
    assert_eq!(expected.len(), Action::ALL.len(), "every action has a row");
    let mut wrong = Vec::new();
    for row in &expected {
        let action: Action = row.action.parse().unwrap();
        for ((situation, team, project), letters) in SITUATIONS.iter().zip(&row.situations) {
            for (role, want) in ROLES.iter().zip(letters.chars()) {
                let mut facts = subject(*role, &[]);
                if let Some(role) = team {
                    facts.teams.push(TeamMembership {
                        team: "t".into(),
                        role: *role,
                    });
                }
                if let Some(role) = project {
                    facts.projects.push(ProjectMembership {
                        project: "p".into(),
                        role: *role,
                    });
                }
                let got = letter(&authorize(&facts, action, &on_team_t()));
                if got != want {
                    wrong.push(format!(
                        "{} / {role:?} / {situation}: want {want}, got {got}",
                        row.action
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong cells:\n{}", wrong.len(), wrong.join("\n"));
}

fn change_role(actor: OrgRole, target_current: OrgRole, to: OrgRole) -> Decision {
    let resource = ResourceFacts {
        target_role: Some(to),
        target_current_role: Some(target_current),
        ..ResourceFacts::default()
    };
    authorize(&subject(Some(actor), &[]), Action::MemberChangeRole, &resource)
}

#[test]
fn nobody_grants_more_than_they_hold() {
    use OrgRole::*;
    // A member cannot make themselves (or anyone) owner, nor anything else.
    assert!(!change_role(Member, Member, Owner).is_allowed());
    assert!(!change_role(Admin, Admin, Manager).is_allowed());
    // Managers give up to manager, never owner, and never touch owners.
    assert!(change_role(Manager, Viewer, Manager).is_allowed());
    assert!(!change_role(Manager, Viewer, Owner).is_allowed());
    assert!(!change_role(Manager, Owner, Viewer).is_allowed());
    let remove_owner = ResourceFacts {
        target_current_role: Some(Owner),
        ..ResourceFacts::default()
    };
    assert!(!authorize(&subject(Some(Manager), &[]), Action::MemberRemove, &remove_owner).is_allowed());
    assert!(authorize(&subject(Some(Owner), &[]), Action::MemberRemove, &remove_owner).is_allowed());
    // Only owners make owners.
    assert!(change_role(Owner, Member, Owner).is_allowed());
    let add_owner = ResourceFacts {
        target_role: Some(Owner),
        ..ResourceFacts::default()
    };
    assert!(!authorize(&subject(Some(Manager), &[]), Action::MemberAdd, &add_owner).is_allowed());
    assert!(!authorize(&subject(Some(Manager), &[]), Action::SaCreate, &add_owner).is_allowed());
    assert!(authorize(&subject(Some(Owner), &[]), Action::SaCreate, &add_owner).is_allowed());
}

#[test]
fn team_admins_only_administer_their_own_teams() {
    let other_team = ResourceFacts {
        team: Some("b".into()),
        ..ResourceFacts::default()
    };
    for org_role in [Some(OrgRole::Viewer), Some(OrgRole::Member), Some(OrgRole::Admin)] {
        let admin_of_a = subject(org_role, &[("a", TeamRole::Admin)]);
        for action in [Action::TeamUpdate, Action::TeamMemberAdd, Action::TeamDelete] {
            let decision = authorize(&admin_of_a, action, &other_team);
            assert_eq!(letter(&decision), 'F', "{org_role:?} {action}");
        }
    }
    // Granting a project to a team the subject does not administer is refused.
    let grant_to_b = ResourceFacts {
        team: Some("b".into()),
        project: Some("p".into()),
        project_teams: vec!["a".into()],
        ..ResourceFacts::default()
    };
    let viewer_admin_of_a = subject(Some(OrgRole::Viewer), &[("a", TeamRole::Admin)]);
    assert!(!authorize(&viewer_admin_of_a, Action::ProjectGrant, &grant_to_b).is_allowed());
    let also_admin_of_b = subject(Some(OrgRole::Viewer), &[("a", TeamRole::Admin), ("b", TeamRole::Admin)]);
    assert!(authorize(&also_admin_of_b, Action::ProjectGrant, &grant_to_b).is_allowed());
}

#[test]
fn team_rights_only_reach_granted_projects() {
    let viewer_in_t = subject(Some(OrgRole::Viewer), &[("t", TeamRole::Member)]);
    let ungranted = ResourceFacts {
        project: Some("q".into()),
        project_teams: vec!["u".into()],
        ..ResourceFacts::default()
    };
    assert!(!authorize(&viewer_in_t, Action::RunCreate, &ungranted).is_allowed());
    assert!(authorize(&viewer_in_t, Action::RunView, &ungranted).is_allowed());
    let outsider_in_t = subject(None, &[("t", TeamRole::Member)]);
    assert_eq!(letter(&authorize(&outsider_in_t, Action::RunView, &ungranted)), 'F');
    assert_eq!(letter(&authorize(&outsider_in_t, Action::RunCreate, &on_team_t())), 'A');
}

#[test]
fn outsiders_learn_nothing() {
    let nobody = SubjectFacts::default();
    for action in Action::ALL {
        let decision = authorize(&nobody, *action, &on_team_t());
        assert_eq!(letter(&decision), 'N', "{action}");
    }
}

#[test]
fn roles_parse_and_rank() {
    assert!(OrgRole::Owner > OrgRole::Manager && OrgRole::Manager > OrgRole::Admin);
    assert!(OrgRole::Admin > OrgRole::Member && OrgRole::Member > OrgRole::Viewer);
    for role in OrgRole::ALL {
        assert_eq!(role.as_str().parse::<OrgRole>().unwrap(), *role);
    }
    assert_eq!("admin".parse::<TeamRole>().unwrap(), TeamRole::Admin);
    assert!("god".parse::<OrgRole>().is_err());
}
