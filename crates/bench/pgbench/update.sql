-- PATCH /api/tasks/{id}/ with If-Match as the server sends it: the tenant
-- scope, the task locked, the conditional update, its activity row,
-- commit. Tenant n's seeded tasks are (n + 1) * 1000 + 0..:tasks - 1; wrk's
-- runs update the first half (they count on versions nobody else bumps),
-- this script the second.
\set n random(0, :tenants - 1)
\set id (:n + 1) * 1000 + :tasks / 2 + random(0, :tasks / 2 - 1)
BEGIN;
SELECT public.tf_enter_tenant((SELECT id FROM public.tenants WHERE schema_name = 'tenant_fleet' || lpad(:n::text, 5, '0')), 'tenant_fleet' || lpad(:n::text, 5, '0'));
SELECT "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."assignee_id", "tasks"."due_date", "tasks"."created_by", "tasks"."created_at", "tasks"."updated_at", "tasks"."completed_at", "tasks"."version" FROM "tasks" WHERE ("tasks"."id" = :id) LIMIT 1 FOR UPDATE \gset t_
UPDATE "tasks" SET "title" = "tasks"."title", "description" = "tasks"."description", "status" = "tasks"."status", "priority" = 'urgent', "assignee_id" = NULL, "due_date" = "tasks"."due_date", "completed_at" = NULL, "version" = ("tasks"."version" + 1), "updated_at" = CURRENT_TIMESTAMP WHERE (("tasks"."id" = :id) AND ("tasks"."version" = :t_version)) RETURNING "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."assignee_id", "tasks"."due_date", "tasks"."created_by", "tasks"."created_at", "tasks"."updated_at", "tasks"."completed_at", "tasks"."version";
INSERT INTO "activity" ("actor_id", "verb", "target_type", "target_id", "project_id", "changes") VALUES (1, 'updated', 'task', :id, :t_project_id, '{"priority": ["medium", "urgent"]}');
COMMIT;
