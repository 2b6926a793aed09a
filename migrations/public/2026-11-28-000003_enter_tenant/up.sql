-- The first statement of every tenant transaction (after BEGIN, in the same
-- round trip). It takes the tenant's advisory lock (class 'tfte') shared,
-- without waiting: a deletion takes it exclusively, and while one holds it or
-- waits for it the request is refused at once as busy (a request that waited
-- would hold a pooled connection meanwhile, and a long report could keep
-- every one of them waiting). Then, in a statement of its own (one that sees
-- what committed before it), it checks that the tenant row of this id still
-- owns this schema, and sets the transaction's search_path to it: a tenant
-- held in a server's cache may have been deleted and its schema name given
-- to a new tenant of the same slug. PL/pgSQL keeps the plans of its
-- statements for the session, so the check costs an index look-up, not a
-- planning, per request (docs/adr/0003-tenant-scope.md).
CREATE FUNCTION tf_enter_tenant(tenant bigint, schema text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NOT pg_catalog.pg_try_advisory_xact_lock_shared(1952871525, (tenant & 2147483647)::int4) THEN
        RAISE EXCEPTION 'taskforce.tenant_busy: tenant % is being deleted', tenant;
    END IF;
    IF NOT EXISTS (SELECT FROM public.tenants WHERE id = tenant AND schema_name = schema) THEN
        RAISE EXCEPTION 'taskforce.tenant_gone: tenant % no longer owns the schema %', tenant, schema;
    END IF;
    PERFORM pg_catalog.set_config('search_path', pg_catalog.quote_ident(schema), true);
END
$$;
