//! Subscription [`Plan`]s and their [`PlanLimits`].

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A tenant's subscription plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// 1 project, 10 tasks, 3 members.
    Free,
    /// 5 projects, 50 tasks, 10 members.
    Basic,
    /// 50 projects, 500 tasks, 100 members.
    Premium,
    /// No limits.
    Enterprise,
}

/// How much a plan allows; `None` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLimits {
    /// Projects in the tenant.
    pub projects: Option<u32>,
    /// Tasks in the whole tenant.
    pub tasks: Option<u32>,
    /// Members, pending invitations included.
    pub members: Option<u32>,
}

/// A resource a plan limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitedResource {
    /// Projects.
    Projects,
    /// Tasks.
    Tasks,
    /// Members and pending invitations.
    Members,
}

impl Plan {
    /// Every plan, cheapest first.
    pub const ALL: [Plan; 4] = [Plan::Free, Plan::Basic, Plan::Premium, Plan::Enterprise];

    /// The plan's limits, as the seed's table gives them.
    pub const fn limits(self) -> PlanLimits {
        match self {
            Plan::Free => PlanLimits { projects: Some(1), tasks: Some(10), members: Some(3) },
            Plan::Basic => PlanLimits { projects: Some(5), tasks: Some(50), members: Some(10) },
            Plan::Premium => PlanLimits { projects: Some(50), tasks: Some(500), members: Some(100) },
            Plan::Enterprise => PlanLimits { projects: None, tasks: None, members: None },
        }
    }

    /// The plan's name as stored and shown (`free`, `basic`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Basic => "basic",
            Plan::Premium => "premium",
            Plan::Enterprise => "enterprise",
        }
    }
}

impl PlanLimits {
    /// The limit on one resource; `None` means unlimited.
    pub const fn of(&self, resource: LimitedResource) -> Option<u32> {
        match resource {
            LimitedResource::Projects => self.projects,
            LimitedResource::Tasks => self.tasks,
            LimitedResource::Members => self.members,
        }
    }
}

impl LimitedResource {
    /// The resource's name as the API shows it.
    pub const fn as_str(self) -> &'static str {
        match self {
            LimitedResource::Projects => "projects",
            LimitedResource::Tasks => "tasks",
            LimitedResource::Members => "members",
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not one of `free`, `basic`, `premium`, `enterprise`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown plan {0:?}; expected free, basic, premium or enterprise")]
pub struct UnknownPlan(pub String);

impl FromStr for Plan {
    type Err = UnknownPlan;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Plan::ALL.into_iter().find(|plan| plan.as_str() == s).ok_or_else(|| UnknownPlan(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_match_the_seed_table() {
        let table: Vec<_> = Plan::ALL.iter().map(|p| (p.as_str(), p.limits())).collect();
        assert_eq!(
            table,
            vec![
                ("free", PlanLimits { projects: Some(1), tasks: Some(10), members: Some(3) }),
                ("basic", PlanLimits { projects: Some(5), tasks: Some(50), members: Some(10) }),
                ("premium", PlanLimits { projects: Some(50), tasks: Some(500), members: Some(100) }),
                ("enterprise", PlanLimits { projects: None, tasks: None, members: None }),
            ]
        );
    }

    #[test]
    fn parses_its_own_names_only() {
        for plan in Plan::ALL {
            assert_eq!(plan.as_str().parse::<Plan>(), Ok(plan));
        }
        assert!("Free".parse::<Plan>().is_err());
        assert!("gold".parse::<Plan>().is_err());
    }
}
