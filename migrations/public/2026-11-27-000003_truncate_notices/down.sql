DROP TRIGGER refresh_families_notify_truncated ON public.refresh_families;
DROP TRIGGER memberships_notify_truncated ON public.memberships;
DROP TRIGGER users_notify_truncated ON public.users;
DROP TRIGGER domains_notify_truncated ON public.domains;
DROP TRIGGER tenants_notify_truncated ON public.tenants;
DROP FUNCTION tf_notify_truncated();
