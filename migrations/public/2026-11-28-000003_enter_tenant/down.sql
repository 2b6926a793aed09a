DROP FUNCTION tf_enter_tenant(bigint, text);
