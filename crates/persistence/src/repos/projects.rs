//! [`ProjectRepository`] over the tenant's `projects` table.

use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, PgTextExpressionMethods, QueryDsl, RunQueryDsl,
    SelectableHelper,
};
use taskforce_domain::{Project, ProjectFields, ProjectFilter, ProjectId, ProjectRepository, StoreError, UserId};

use super::{PgTenantTx, count_over, like_pattern, total};
use crate::{
    error::store_error,
    schema::projects,
    tenant_rows::{ProjectRow, ProjectValues},
};

fn values(fields: &ProjectFields) -> ProjectValues<'_> {
    ProjectValues {
        name: fields.name.as_str(),
        description: fields.description.as_str(),
        status: fields.status.as_str(),
    }
}

impl ProjectRepository for PgTenantTx<'_> {
    fn insert(&mut self, owner: UserId, fields: &ProjectFields) -> Result<Project, StoreError> {
        diesel::insert_into(projects::table)
            .values((values(fields), projects::owner_id.eq(owner.0)))
            .returning(ProjectRow::as_returning())
            .get_result(self.inner.conn)
            .map_err(store_error)
            .and_then(Project::try_from)
    }

    fn get(&mut self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        projects::table
            .find(id.0)
            .select(ProjectRow::as_select())
            .first(self.inner.conn)
            .optional()
            .map_err(store_error)?
            .map(Project::try_from)
            .transpose()
    }

    fn lock(&mut self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        projects::table
            .find(id.0)
            .select(ProjectRow::as_select())
            .for_update()
            .first(self.inner.conn)
            .optional()
            .map_err(store_error)?
            .map(Project::try_from)
            .transpose()
    }

    fn page(&mut self, filter: &ProjectFilter, offset: u64, limit: u64) -> Result<(Vec<Project>, u64), StoreError> {
        let mut query = projects::table.select((ProjectRow::as_select(), count_over())).into_boxed();
        if let Some(status) = filter.status {
            query = query.filter(projects::status.eq(status.as_str()));
        }
        for term in filter.search.terms() {
            let pattern = like_pattern(term);
            query = query.filter(projects::name.ilike(pattern.clone()).or(projects::description.ilike(pattern)));
        }
        let rows: Vec<(ProjectRow, i64)> = query
            .order((projects::created_at.desc(), projects::id.desc()))
            .offset(i64::try_from(offset).unwrap_or(i64::MAX))
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .load(self.inner.conn)
            .map_err(store_error)?;
        let count = total(rows.first().map(|r| r.1));
        let items = rows.into_iter().map(|(row, _)| Project::try_from(row)).collect::<Result<Vec<_>, _>>()?;
        Ok((items, count))
    }

    fn update(&mut self, id: ProjectId, version: i64, fields: &ProjectFields) -> Result<Option<Project>, StoreError> {
        diesel::update(projects::table.filter(projects::id.eq(id.0)).filter(projects::version.eq(version)))
            .set((
                values(fields),
                projects::version.eq(projects::version + 1),
                projects::updated_at.eq(super::statement_timestamp()),
            ))
            .returning(ProjectRow::as_returning())
            .get_result(self.inner.conn)
            .optional()
            .map_err(store_error)?
            .map(Project::try_from)
            .transpose()
    }

    fn delete(&mut self, id: ProjectId) -> Result<bool, StoreError> {
        diesel::delete(projects::table.find(id.0)).execute(self.inner.conn).map(|n| n > 0).map_err(store_error)
    }
}
