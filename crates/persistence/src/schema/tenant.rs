// Tables of one tenant's schema, unqualified: they resolve only inside a
// tenant scope, whose transaction-local search_path names that schema.

diesel::table! {
    projects (id) {
        id -> Int8,
        #[max_length = 200]
        name -> Varchar,
        description -> Text,
        #[max_length = 16]
        status -> Varchar,
        owner_id -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}
