//! [`Actor`]: who makes a request, in which tenant, with which role.

use taskforce_domain::{FamilyId, Role, Tenant, UserId};

use super::policy::{Action, Relation, Rule, allows, rule};

/// The authenticated caller of a tenant endpoint. The role was read from the
/// membership for this request, never from the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The tenant the request is addressed to.
    pub tenant: Tenant,
    /// The caller.
    pub user: UserId,
    /// Their role in the tenant now.
    pub role: Role,
    /// The login session of their token.
    pub session: FamilyId,
}

/// The caller may not do that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("You do not have permission to perform this action.")]
pub struct Denied;

impl Actor {
    /// `Ok` when the policy allows the action on an object in `relation`.
    pub fn may(&self, action: Action, relation: Relation) -> Result<(), Denied> {
        if allows(self.role, action, relation) { Ok(()) } else { Err(Denied) }
    }

    /// `Ok` unless the role may never do the action, whatever the object: the
    /// check DRF makes before a view reads the request (its view-level
    /// permission). The use case still checks the object with [`may`](Self::may).
    pub fn may_ever(&self, action: Action) -> Result<(), Denied> {
        if rule(self.role, action) == Rule::No { Err(Denied) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use taskforce_domain::{Plan, Slug, TenantId, TenantName};

    use super::*;
    use crate::access::policy::MATRIX;

    fn actor(role: Role) -> Actor {
        let slug = Slug::parse("acme").expect("a slug");
        Actor {
            tenant: Tenant {
                id: TenantId(1),
                schema_name: slug.schema_name(),
                slug,
                name: TenantName::parse("Acme").expect("a name"),
                plan: Plan::Basic,
                is_active: true,
                allow_signup: false,
                schema_version: None,
                created_at: chrono::DateTime::UNIX_EPOCH,
            },
            user: UserId(1),
            role,
            session: FamilyId(1),
        }
    }

    /// `may_ever` refuses a role exactly when no relation to any object
    /// would let it act: it never refuses what the object check would allow.
    #[test]
    fn may_ever_refuses_exactly_what_no_object_allows() {
        let relations: Vec<Relation> = (0..16_u8)
            .map(|bits| Relation {
                project_owner: bits & 1 != 0,
                creator: bits & 2 != 0,
                assignee: bits & 4 != 0,
                author: bits & 8 != 0,
            })
            .collect();
        for role in [Role::Owner, Role::Admin, Role::Member, Role::Viewer] {
            let who = actor(role);
            for (action, _) in MATRIX {
                let some_object_allows = relations.iter().any(|r| who.may(action, *r).is_ok());
                assert_eq!(who.may_ever(action).is_ok(), some_object_allows, "{role:?} {action:?}");
            }
        }
        assert_eq!(actor(Role::Viewer).may_ever(Action::CreateContent), Err(Denied));
        assert_eq!(actor(Role::Member).may_ever(Action::ChangeProject), Ok(()));
        assert_eq!(actor(Role::Member).may_ever(Action::UpdateTenant), Err(Denied));
    }
}
