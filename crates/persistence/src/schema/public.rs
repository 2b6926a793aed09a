// The shared tables, schema-qualified so they resolve whatever the
// search_path (a connection outside a tenant scope has an empty one).

diesel::table! {
    public.tenants (id) {
        id -> Int8,
        #[max_length = 50]
        slug -> Varchar,
        #[max_length = 63]
        schema_name -> Varchar,
        #[max_length = 100]
        name -> Varchar,
        #[max_length = 16]
        plan -> Varchar,
        is_active -> Bool,
        allow_signup -> Bool,
        #[max_length = 32]
        schema_version -> Nullable<Varchar>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    public.domains (domain) {
        #[max_length = 253]
        domain -> Varchar,
        tenant_id -> Int8,
        is_primary -> Bool,
    }
}

diesel::table! {
    public.users (id) {
        id -> Int8,
        #[max_length = 150]
        username -> Varchar,
        #[max_length = 254]
        email -> Varchar,
        password_hash -> Text,
        is_active -> Bool,
        is_staff -> Bool,
        date_joined -> Timestamptz,
        last_login -> Nullable<Timestamptz>,
        registered_themselves -> Bool,
    }
}

diesel::table! {
    public.memberships (id) {
        id -> Int8,
        tenant_id -> Int8,
        user_id -> Int8,
        #[max_length = 16]
        role -> Varchar,
        joined_at -> Timestamptz,
    }
}

diesel::joinable!(domains -> tenants (tenant_id));
diesel::joinable!(memberships -> tenants (tenant_id));
diesel::joinable!(memberships -> users (user_id));


diesel::table! {
    public.refresh_families (id) {
        id -> Int8,
        tenant_id -> Int8,
        user_id -> Int8,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        #[max_length = 32]
        revoked_reason -> Nullable<Varchar>,
    }
}

diesel::table! {
    public.stream_tickets (token_digest) {
        #[max_length = 64]
        token_digest -> Varchar,
        family_id -> Int8,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    public.refresh_tokens (token_digest) {
        #[max_length = 64]
        token_digest -> Varchar,
        family_id -> Int8,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        spent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    public.invitations (id) {
        id -> Int8,
        tenant_id -> Int8,
        #[max_length = 254]
        email -> Varchar,
        #[max_length = 16]
        role -> Varchar,
        #[max_length = 64]
        token_digest -> Varchar,
        invited_by -> Int8,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        accepted_by -> Nullable<Int8>,
        ended_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(refresh_tokens -> refresh_families (family_id));
diesel::joinable!(stream_tickets -> refresh_families (family_id));
diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    domains,
    users,
    memberships,
    refresh_families,
    refresh_tokens,
    invitations, stream_tickets);

diesel::table! {
    public.spare_schemas (name) {
        #[max_length = 63]
        name -> Varchar,
        #[max_length = 32]
        schema_version -> Varchar,
        created_at -> Timestamptz,
    }
}
