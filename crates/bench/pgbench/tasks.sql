-- GET /api/projects/1/tasks/?status=todo&ordering=-created_at as the
-- server sends it: the tenant scope, the page with its total as a scalar
-- subquery, commit.
\set n random(0, :tenants - 1)
BEGIN;
SELECT pg_catalog.pg_advisory_xact_lock_shared(1952871525, :n), CASE WHEN EXISTS (SELECT FROM public.tenants WHERE schema_name = 'tenant_fleet' || lpad(:n::text, 5, '0')) THEN pg_catalog.set_config('search_path', '"tenant_fleet' || lpad(:n::text, 5, '0') || '"', true) ELSE pg_catalog.current_setting('taskforce.tenant_gone') END;
SELECT "tasks"."id", "tasks"."project_id", "tasks"."title", "tasks"."description", "tasks"."status", "tasks"."priority", "tasks"."assignee_id", "tasks"."due_date", "tasks"."created_by", "tasks"."created_at", "tasks"."updated_at", "tasks"."completed_at", "tasks"."version", (SELECT COUNT(*) FROM "tasks" WHERE (("tasks"."project_id" = 1) AND ("tasks"."status" = 'todo')) LIMIT 1) FROM "tasks" WHERE (("tasks"."project_id" = 1) AND ("tasks"."status" = 'todo')) ORDER BY "tasks"."created_at" DESC, "tasks"."id" DESC LIMIT 20 OFFSET 0;
COMMIT;
