//! The role matrix of the API contract (§5), as one table.
//!
//! Every permission check in TaskForce goes through [`allows`]: handlers and
//! use cases never compare roles themselves.

use taskforce_domain::Role;

/// Something a member may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read projects, tasks, comments, attachments and project activity.
    ReadContent,
    /// Create projects, tasks, comments, attachments.
    CreateContent,
    /// Update or delete a project.
    ChangeProject,
    /// Update a task.
    UpdateTask,
    /// Delete a task.
    DeleteTask,
    /// Edit a comment.
    EditComment,
    /// Delete a comment.
    DeleteComment,
    /// Delete an attachment (the contract is silent: like a comment, its
    /// uploader, an admin or an owner; see docs/api.md).
    DeleteAttachment,
    /// List the tenant's members.
    ListMembers,
    /// Invite, remove members, change roles (see also [`may_manage_member`]).
    ManageMembers,
    /// Update the tenant's settings (`name`, `allow_signup`).
    UpdateTenant,
    /// Read the tenant-wide audit log.
    ReadAuditLog,
}

/// Whether a role may do an action, and under which condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Always.
    Yes,
    /// Never.
    No,
    /// Only on a project the member owns.
    IfProjectOwner,
    /// Only on a task the member created or is assigned.
    IfCreatorOrAssignee,
    /// Only on a task the member created.
    IfCreator,
    /// Only on a comment the member wrote.
    IfAuthor,
}

/// The member's relation to the object acted on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relation {
    /// Owns the project.
    pub project_owner: bool,
    /// Created the task.
    pub creator: bool,
    /// Is assigned the task.
    pub assignee: bool,
    /// Wrote the comment, or uploaded the attachment.
    pub author: bool,
}

use Rule::{IfAuthor, IfCreator, IfCreatorOrAssignee, IfProjectOwner, No, Yes};

/// The matrix: one row per action, columns owner, admin, member, viewer.
pub const MATRIX: [(Action, [Rule; 4]); 12] = [
    (Action::ReadContent, [Yes, Yes, Yes, Yes]),
    (Action::CreateContent, [Yes, Yes, Yes, No]),
    (Action::ChangeProject, [Yes, Yes, IfProjectOwner, No]),
    (Action::UpdateTask, [Yes, Yes, IfCreatorOrAssignee, No]),
    (Action::DeleteTask, [Yes, Yes, IfCreator, No]),
    (Action::EditComment, [IfAuthor, IfAuthor, IfAuthor, No]),
    (Action::DeleteComment, [Yes, Yes, IfAuthor, No]),
    (Action::DeleteAttachment, [Yes, Yes, IfAuthor, No]),
    (Action::ListMembers, [Yes, Yes, Yes, Yes]),
    (Action::ManageMembers, [Yes, Yes, No, No]),
    (Action::UpdateTenant, [Yes, Yes, No, No]),
    (Action::ReadAuditLog, [Yes, Yes, No, No]),
];

/// The rule for a role and action.
pub fn rule(role: Role, action: Action) -> Rule {
    let column = match role {
        Role::Owner => 0,
        Role::Admin => 1,
        Role::Member => 2,
        Role::Viewer => 3,
    };
    MATRIX.iter().find(|(a, _)| *a == action).map_or(No, |(_, rules)| rules[column])
}

/// Whether `role` may do `action` on an object it stands in `relation` to.
pub fn allows(role: Role, action: Action, relation: Relation) -> bool {
    match rule(role, action) {
        Yes => true,
        No => false,
        IfProjectOwner => relation.project_owner,
        IfCreatorOrAssignee => relation.creator || relation.assignee,
        IfCreator => relation.creator,
        IfAuthor => relation.author,
    }
}

/// Whether `actor` may change a member whose role is `current` to `new`
/// (`None`: remove them). Admins never touch owners and never grant owner.
pub fn may_manage_member(actor: Role, current: Role, new: Option<Role>) -> bool {
    if !allows(actor, Action::ManageMembers, Relation::default()) {
        return false;
    }
    match actor {
        Role::Owner => true,
        _ => current != Role::Owner && new != Some(Role::Owner),
    }
}

/// Whether `actor` may invite someone with `role`.
pub fn may_invite(actor: Role, role: Role) -> bool {
    allows(actor, Action::ManageMembers, Relation::default()) && (actor == Role::Owner || role != Role::Owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_exactly_one_row() {
        for (i, (action, _)) in MATRIX.iter().enumerate() {
            assert_eq!(MATRIX.iter().filter(|(a, _)| a == action).count(), 1, "row {i}");
        }
    }

    #[test]
    fn the_contract_s_conditional_rows_hold() {
        let none = Relation::default();
        let own = Relation { project_owner: true, ..none };
        assert!(allows(Role::Member, Action::ChangeProject, own));
        assert!(!allows(Role::Member, Action::ChangeProject, none));
        assert!(allows(Role::Member, Action::UpdateTask, Relation { assignee: true, ..none }));
        assert!(!allows(Role::Member, Action::DeleteTask, Relation { assignee: true, ..none }));
        assert!(allows(Role::Member, Action::DeleteTask, Relation { creator: true, ..none }));
        assert!(!allows(Role::Owner, Action::EditComment, none), "only the author edits a comment");
        assert!(allows(Role::Admin, Action::DeleteComment, none));
        assert!(allows(Role::Member, Action::DeleteAttachment, Relation { author: true, ..none }));
        assert!(!allows(Role::Member, Action::DeleteAttachment, none));
        assert!(!allows(Role::Viewer, Action::DeleteAttachment, Relation { author: true, ..none }));
        assert!(!allows(Role::Viewer, Action::CreateContent, none));
        assert!(allows(Role::Viewer, Action::ReadContent, none));
        assert!(!allows(Role::Member, Action::ReadAuditLog, none));
    }

    #[test]
    fn admins_never_touch_owners_nor_grant_owner() {
        assert!(may_manage_member(Role::Admin, Role::Member, Some(Role::Admin)));
        assert!(!may_manage_member(Role::Admin, Role::Owner, Some(Role::Member)));
        assert!(!may_manage_member(Role::Admin, Role::Owner, None));
        assert!(!may_manage_member(Role::Admin, Role::Member, Some(Role::Owner)));
        assert!(may_manage_member(Role::Owner, Role::Owner, Some(Role::Member)));
        assert!(!may_manage_member(Role::Member, Role::Viewer, None));
        assert!(!may_invite(Role::Admin, Role::Owner));
        assert!(may_invite(Role::Owner, Role::Owner));
        assert!(!may_invite(Role::Viewer, Role::Viewer));
    }
}
