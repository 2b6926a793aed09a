-- TRUNCATE fires no row triggers: it announces that everything may have
-- changed ('flush'), beside the row notices of access_change_notices.
-- (Triggers disabled on purpose, as pg_restore or
-- session_replication_role = replica do, announce nothing.)
-- Written to run whether or not a database already has these triggers: a
-- pre-release build of access_change_notices created them there.
CREATE OR REPLACE FUNCTION tf_notify_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('tf_access', 'flush');
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS tenants_notify_truncated ON public.tenants;
CREATE TRIGGER tenants_notify_truncated AFTER TRUNCATE ON public.tenants
    FOR EACH STATEMENT EXECUTE FUNCTION tf_notify_truncated();
DROP TRIGGER IF EXISTS domains_notify_truncated ON public.domains;
CREATE TRIGGER domains_notify_truncated AFTER TRUNCATE ON public.domains
    FOR EACH STATEMENT EXECUTE FUNCTION tf_notify_truncated();
DROP TRIGGER IF EXISTS users_notify_truncated ON public.users;
CREATE TRIGGER users_notify_truncated AFTER TRUNCATE ON public.users
    FOR EACH STATEMENT EXECUTE FUNCTION tf_notify_truncated();
DROP TRIGGER IF EXISTS memberships_notify_truncated ON public.memberships;
CREATE TRIGGER memberships_notify_truncated AFTER TRUNCATE ON public.memberships
    FOR EACH STATEMENT EXECUTE FUNCTION tf_notify_truncated();
DROP TRIGGER IF EXISTS refresh_families_notify_truncated ON public.refresh_families;
CREATE TRIGGER refresh_families_notify_truncated AFTER TRUNCATE ON public.refresh_families
    FOR EACH STATEMENT EXECUTE FUNCTION tf_notify_truncated();
