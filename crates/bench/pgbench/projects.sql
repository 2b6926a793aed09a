-- GET /api/projects/ as the server sends it (captured with log_statement):
-- the tenant scope (its lock taken shared and its owner checked, then the
-- path set: two statements in the server's first round trip, one here),
-- the page with its total, commit. pgbench's prepared mode cannot send
-- BEGIN and the scope in one message as the server does, so here they are
-- two round trips. :tenants is set by
-- the harness (-D); tenant n has the schema tenant_fleet<n, 5 digits>.
\set n random(0, :tenants - 1)
BEGIN;
SELECT pg_catalog.pg_advisory_xact_lock_shared(1952871525, :n), CASE WHEN EXISTS (SELECT FROM public.tenants WHERE schema_name = 'tenant_fleet' || lpad(:n::text, 5, '0')) THEN pg_catalog.set_config('search_path', '"tenant_fleet' || lpad(:n::text, 5, '0') || '"', true) ELSE pg_catalog.current_setting('taskforce.tenant_gone') END;
SELECT "projects"."id", "projects"."name", "projects"."description", "projects"."status", "projects"."owner_id", "projects"."created_at", "projects"."updated_at", "projects"."version", count(*) OVER () FROM "projects" ORDER BY "projects"."created_at" DESC, "projects"."id" DESC LIMIT 20 OFFSET 0;
COMMIT;
