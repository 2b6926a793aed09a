-- POST /api/projects/2/tasks/ as the server sends it (new tasks go to
-- project 2, so the task list of project 1 stays the same size all run): the tenant scope,
-- the tenant row locked (plan limits), the project, the task, its activity
-- row, commit. Tenant n has id n + 1.
\set n random(0, :tenants - 1)
BEGIN;
SELECT public.tf_enter_tenant((SELECT id FROM public.tenants WHERE schema_name = 'tenant_fleet' || lpad(:n::text, 5, '0')), 'tenant_fleet' || lpad(:n::text, 5, '0'));
SELECT "public"."tenants"."id", "public"."tenants"."slug", "public"."tenants"."schema_name", "public"."tenants"."name", "public"."tenants"."plan", "public"."tenants"."is_active", "public"."tenants"."allow_signup", "public"."tenants"."schema_version", "public"."tenants"."created_at" FROM "public"."tenants" WHERE ("public"."tenants"."id" = :n + 1) LIMIT 1 FOR UPDATE;
SELECT "projects"."id", "projects"."name", "projects"."description", "projects"."status", "projects"."owner_id", "projects"."created_at", "projects"."updated_at", "projects"."version" FROM "projects" WHERE ("projects"."id" = 2) LIMIT 1;
INSERT INTO "tasks" ("title", "description", "status", "priority", "assignee_id", "due_date", "completed_at", "project_id", "created_by") VALUES ('Load test task', 'Created under load', 'todo', 'high', DEFAULT, DEFAULT, DEFAULT, 2, 1) RETURNING "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."assignee_id", "tasks"."due_date", "tasks"."created_by", "tasks"."created_at", "tasks"."updated_at", "tasks"."completed_at", "tasks"."version" \gset t_
INSERT INTO "activity" ("actor_id", "verb", "target_type", "target_id", "project_id", "changes") VALUES (1, 'created', 'task', :t_id, 2, '{"title": [null, "Load test task"], "status": [null, "todo"], "due_date": [null, null], "priority": [null, "high"], "assignee_id": [null, null], "description": [null, "Created under load"]}');
COMMIT;
