//! [`ProjectRepository`] over the fake's `projects`; deleting one takes its
//! tasks and their comments with it (`ON DELETE CASCADE`).

use std::cmp::Reverse;

use taskforce_domain::{Project, ProjectFields, ProjectFilter, ProjectId, ProjectRepository, StoreError, UserId};

use super::tx::{FakeTenantTx, page_of};

impl ProjectRepository for FakeTenantTx<'_> {
    fn insert(&mut self, owner: UserId, fields: &ProjectFields) -> Result<Project, StoreError> {
        let id = ProjectId(self.inner.state.next_id());
        let now = self.inner.now;
        let project = Project {
            id,
            name: fields.name.clone(),
            description: fields.description.clone(),
            status: fields.status,
            owner_id: owner,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        self.schema_data()?.projects.push(project.clone());
        Ok(project)
    }

    fn get(&mut self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        Ok(self.schema_data()?.projects.iter().find(|p| p.id == id).cloned())
    }

    fn lock(&mut self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        // one unit of work at a time: nothing else can change it meanwhile
        self.get(id)
    }

    fn page(&mut self, filter: &ProjectFilter, offset: u64, limit: u64) -> Result<(Vec<Project>, u64), StoreError> {
        let matching = |p: &&Project| {
            filter.status.is_none_or(|status| p.status == status)
                && filter.search.matches(&[p.name.as_str(), p.description.as_str()])
        };
        let mut rows: Vec<&Project> = self.schema_data()?.projects.iter().filter(matching).collect();
        // newest first
        rows.sort_by_key(|p| Reverse((p.created_at, p.id)));
        Ok(page_of(&rows, offset, limit))
    }

    fn update(&mut self, id: ProjectId, version: i64, fields: &ProjectFields) -> Result<Option<Project>, StoreError> {
        let now = self.inner.now;
        let Some(project) = self.schema_data()?.projects.iter_mut().find(|p| p.id == id && p.version == version) else {
            return Ok(None);
        };
        project.name = fields.name.clone();
        project.description = fields.description.clone();
        project.status = fields.status;
        project.version += 1;
        project.updated_at = now;
        Ok(Some(project.clone()))
    }

    fn delete(&mut self, id: ProjectId) -> Result<bool, StoreError> {
        let data = self.schema_data()?;
        let before = data.projects.len();
        data.projects.retain(|p| p.id != id);
        if data.projects.len() == before {
            return Ok(false);
        }
        let tasks: Vec<_> = data.tasks.iter().filter(|t| t.project_id == id).map(|t| t.id).collect();
        data.tasks.retain(|t| t.project_id != id);
        data.comments.retain(|c| !tasks.contains(&c.task_id));
        data.attachments.retain(|a| !tasks.contains(&a.task_id));
        Ok(true)
    }
}
