-- The first statement of every tenant transaction (after BEGIN, in the same
-- round trip): sets the transaction's search_path to the tenant's schema if
-- the tenant row of this id still owns that schema (a tenant held in a
-- server's cache may have been deleted and its schema name given to a new
-- tenant of the same slug), under the tenant's advisory lock (class 'tfte')
-- taken shared without waiting: a deletion takes it exclusively, and while
-- one holds it or waits for it the request is refused at once as busy (a
-- request that waited would hold a pooled connection meanwhile, and a long
-- report could keep every connection waiting). One statement does the
-- look-up, the lock and the setting: PL/pgSQL keeps its plan for the session,
-- so the whole costs about what the setting alone did. The refusals are told
-- apart only when there is one. Measured: docs/performance.md, the fifteenth
-- run; why: docs/adr/0003-tenant-scope.md.
CREATE FUNCTION tf_enter_tenant(tenant bigint, schema text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_catalog.set_config('search_path', pg_catalog.quote_ident(schema), true)
        FROM public.tenants
        WHERE id = tenant AND schema_name = schema
          AND pg_catalog.pg_try_advisory_xact_lock_shared(1952871525, (tenant & 2147483647)::int4);
    IF NOT FOUND THEN
        IF NOT pg_catalog.pg_try_advisory_xact_lock_shared(1952871525, (tenant & 2147483647)::int4) THEN
            RAISE EXCEPTION 'taskforce.tenant_busy: tenant % is being deleted', tenant;
        END IF;
        RAISE EXCEPTION 'taskforce.tenant_gone: tenant % no longer owns the schema %', tenant, schema;
    END IF;
END
$$;
