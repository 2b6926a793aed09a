-- Every change to what the request path caches (a host's tenant, a
-- membership, an account's active flag, a session) is announced on the
-- channel tf_access when its transaction commits, whoever makes it: the
-- API, tenant-admin or an operator's SQL. A server that keeps its cache in
-- process (no Redis) listens and drops the entries named, so the change is
-- seen on the next request rather than when the entry expires.
-- Payloads: 'host <domain>', 'member <tenant id> <user id>',
-- 'session <tenant id> <family id>'. NOTIFY folds repeats within a
-- transaction.

CREATE FUNCTION tf_notify_domain_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_catalog.pg_notify('tf_access', 'host ' || OLD.domain);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM pg_catalog.pg_notify('tf_access', 'host ' || NEW.domain);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER domains_notify_access AFTER INSERT OR UPDATE OR DELETE ON public.domains
    FOR EACH ROW EXECUTE FUNCTION tf_notify_domain_changed();

-- a tenant's cached entry carries every column but created_at; a deleted
-- tenant's domains go by cascade and announce themselves
CREATE FUNCTION tf_notify_tenant_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('tf_access', 'host ' || d.domain)
        FROM public.domains d WHERE d.tenant_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_notify_access AFTER UPDATE ON public.tenants
    FOR EACH ROW WHEN (
        (OLD.slug, OLD.schema_name, OLD.name, OLD.plan, OLD.is_active, OLD.allow_signup, OLD.schema_version)
        IS DISTINCT FROM
        (NEW.slug, NEW.schema_name, NEW.name, NEW.plan, NEW.is_active, NEW.allow_signup, NEW.schema_version)
    )
    EXECUTE FUNCTION tf_notify_tenant_changed();

CREATE FUNCTION tf_notify_membership_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_catalog.pg_notify('tf_access', 'member ' || OLD.tenant_id || ' ' || OLD.user_id);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM pg_catalog.pg_notify('tf_access', 'member ' || NEW.tenant_id || ' ' || NEW.user_id);
    END IF;
    RETURN NULL;
END
$$;

-- a new membership replaces nothing cached (only positive answers are)
CREATE TRIGGER memberships_notify_access AFTER UPDATE OR DELETE ON public.memberships
    FOR EACH ROW EXECUTE FUNCTION tf_notify_membership_changed();

-- an account's active flag is cached with each of its memberships
CREATE FUNCTION tf_notify_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('tf_access', 'member ' || m.tenant_id || ' ' || m.user_id)
        FROM public.memberships m WHERE m.user_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_notify_access AFTER UPDATE OF is_active ON public.users
    FOR EACH ROW WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active)
    EXECUTE FUNCTION tf_notify_user_changed();

CREATE FUNCTION tf_notify_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('tf_access', 'session ' || OLD.tenant_id || ' ' || OLD.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER refresh_families_notify_revoked AFTER UPDATE OF revoked_at ON public.refresh_families
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
    EXECUTE FUNCTION tf_notify_session_changed();

CREATE TRIGGER refresh_families_notify_deleted AFTER DELETE ON public.refresh_families
    FOR EACH ROW EXECUTE FUNCTION tf_notify_session_changed();
