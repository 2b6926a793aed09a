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
        version -> Int8,
    }
}

diesel::table! {
    tasks (id) {
        id -> Int8,
        project_id -> Int8,
        #[max_length = 500]
        title -> Varchar,
        description -> Text,
        #[max_length = 16]
        status -> Varchar,
        #[max_length = 16]
        priority -> Varchar,
        priority_rank -> Int2,
        assignee_id -> Nullable<Int8>,
        due_date -> Nullable<Date>,
        created_by -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
        version -> Int8,
    }
}

diesel::table! {
    comments (id) {
        id -> Int8,
        task_id -> Int8,
        author_id -> Int8,
        body -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
    }
}

diesel::table! {
    activity (id) {
        id -> Int8,
        actor_id -> Int8,
        #[max_length = 16]
        verb -> Varchar,
        #[max_length = 16]
        target_type -> Varchar,
        target_id -> Int8,
        project_id -> Nullable<Int8>,
        changes -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Int8,
        recipient_id -> Int8,
        #[max_length = 32]
        kind -> Varchar,
        actor_id -> Int8,
        #[max_length = 16]
        target_type -> Varchar,
        target_id -> Int8,
        project_id -> Nullable<Int8>,
        message -> Text,
        read_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    attachments (id) {
        id -> Int8,
        task_id -> Int8,
        #[max_length = 255]
        filename -> Varchar,
        #[max_length = 255]
        content_type -> Varchar,
        size -> Int8,
        #[max_length = 128]
        storage_key -> Varchar,
        uploaded_by -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(attachments -> tasks (task_id));
diesel::joinable!(tasks -> projects (project_id));
diesel::joinable!(comments -> tasks (task_id));
diesel::allow_tables_to_appear_in_same_query!(projects, tasks, comments, activity, notifications, attachments);
