-- GET /api/projects/1/tasks/?status=todo&ordering=-created_at as the
-- server sends it: the tenant scope, the page with its total as a scalar
-- subquery, commit.
\set n random(0, :tenants - 1)
BEGIN;
SELECT public.tf_enter_tenant((SELECT id FROM public.tenants WHERE schema_name = 'tenant_fleet' || lpad(:n::text, 5, '0')), 'tenant_fleet' || lpad(:n::text, 5, '0'));
SELECT "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."assignee_id", "tasks"."due_date", "tasks"."created_by", "tasks"."created_at", "tasks"."updated_at", "tasks"."completed_at", "tasks"."version", (SELECT COUNT(*) FROM "tasks" WHERE (("tasks"."project_id" = 1) AND ("tasks"."status" = 'todo')) LIMIT 1) FROM "tasks" WHERE (("tasks"."project_id" = 1) AND ("tasks"."status" = 'todo')) ORDER BY "tasks"."created_at" DESC, "tasks"."id" DESC LIMIT 20 OFFSET 0;
COMMIT;
