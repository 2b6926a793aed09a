-- GET /api/projects/ as the server sends it (captured with log_statement):
-- the tenant scope (tf_enter_tenant: its lock taken shared, its owner
-- checked, the path set; the server names the tenant's id, which this
-- script looks up by its schema's name in the same statement, an index
-- look-up more than the server's),
-- the page with its total, commit. pgbench's prepared mode cannot send
-- BEGIN and the scope in one message as the server does, so here they are
-- two round trips. :tenants is set by
-- the harness (-D); tenant n has the schema tenant_fleet<n, 5 digits>.
\set n random(0, :tenants - 1)
BEGIN;
SELECT public.tf_enter_tenant((SELECT id FROM public.tenants WHERE schema_name = 'tenant_fleet' || lpad(:n::text, 5, '0')), 'tenant_fleet' || lpad(:n::text, 5, '0'));
SELECT "projects"."id", "projects"."name", "projects"."description", "projects"."status", "projects"."owner_id", "projects"."created_at", "projects"."updated_at", "projects"."version", count(*) OVER () FROM "projects" ORDER BY "projects"."created_at" DESC, "projects"."id" DESC LIMIT 20 OFFSET 0;
COMMIT;
