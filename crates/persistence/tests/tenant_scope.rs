//! The tenant scope against real PostgreSQL: fail-closed connections, no
//! search_path surviving a scope, and two tenants with the same ids.

mod support;

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::mpsc,
    thread::JoinHandle,
    time::Duration,
};

use diesel::{
    ExpressionMethods, PgConnection, QueryDsl, RunQueryDsl, connection::SimpleConnection, dsl::sql, sql_types::Integer,
};
use support::{TestResult, count, names, provision, store};
use taskforce_domain::{DumpEvent, SchemaName, StoreError};
use taskforce_persistence::{PgStore, PoolSettings, build_pool, schema::projects};
use taskforce_pgcluster::TestDatabase;

/// What a connection fresh out of the pool can see.
fn next_user_sees_no_tenant_tables(store: &PgStore) -> TestResult {
    let mut conn = store.pool().get()?;
    let Err(error) = count(&mut conn, "SELECT count(*) AS n FROM projects") else {
        return Err("a tenant table resolved outside a scope".into());
    };
    assert!(error.to_string().contains("relation \"projects\" does not exist"), "{error}");
    assert_eq!(names(&mut conn, "SELECT current_setting('search_path') AS name")?, vec![String::new()]);
    Ok(())
}

#[test]
fn a_tenant_query_outside_a_tenant_scope_fails() -> TestResult {
    let (_db, store) = store(2)?;
    provision(&store, "acme")?;
    next_user_sees_no_tenant_tables(&store)?;
    // the shared tables stay reachable, schema-qualified
    let mut conn = store.pool().get()?;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM public.tenants")?, 1);
    Ok(())
}

#[test]
fn no_search_path_survives_a_scope_ended_by_commit_error_or_panic() -> TestResult {
    let (_db, store) = store(1)?;
    let acme = provision(&store, "acme")?;

    store.in_tenant_scope(&acme.schema_name, |conn| {
        conn.batch_execute("INSERT INTO projects (name, owner_id) VALUES ('committed', 1)")
            .map_err(StoreError::internal)
    })?;
    next_user_sees_no_tenant_tables(&store)?;

    let failed: Result<(), StoreError> = store.in_tenant_scope(&acme.schema_name, |conn| {
        conn.batch_execute("INSERT INTO projects (name, owner_id) VALUES ('rolled back', 1)")
            .map_err(StoreError::internal)?;
        Err(StoreError::NotFound)
    });
    assert!(matches!(failed, Err(StoreError::NotFound)));
    next_user_sees_no_tenant_tables(&store)?;

    let panicked = catch_unwind(AssertUnwindSafe(|| {
        let _ = store.in_tenant_scope(&acme.schema_name, |conn| -> Result<(), StoreError> {
            conn.batch_execute("INSERT INTO projects (name, owner_id) VALUES ('panicked', 1)")
                .map_err(StoreError::internal)?;
            panic!("a bug inside a unit of work");
        });
    }));
    assert!(panicked.is_err());
    next_user_sees_no_tenant_tables(&store)?;

    // only the committed row exists
    let kept = store.in_tenant_scope(&acme.schema_name, |conn| {
        names(conn, "SELECT name FROM projects ORDER BY id").map_err(StoreError::internal)
    })?;
    assert_eq!(kept, vec!["committed".to_owned()]);
    Ok(())
}

#[test]
fn two_tenants_with_the_same_ids_each_read_only_their_own_rows() -> TestResult {
    let (_db, store) = store(1)?;
    let (a, b) = (provision(&store, "alpha")?, provision(&store, "beta")?);
    for (tenant, label) in [(&a, "alpha"), (&b, "beta")] {
        store.in_tenant_scope(&tenant.schema_name, |conn| {
            conn.batch_execute(&format!(
                "INSERT INTO projects (id, name, owner_id) VALUES (1, '{label} one', 1), (2, '{label} two', 1)"
            ))
            .map_err(StoreError::internal)
        })?;
    }
    // the same prepared statement (statement cache on, one connection) runs
    // in both scopes and PostgreSQL re-resolves it for each search_path
    let read = |schema| {
        store.in_tenant_scope(schema, |conn| {
            let read = |conn: &mut PgConnection| -> diesel::QueryResult<_> {
                let rows = projects::table
                    .filter(projects::id.eq_any([1_i64, 2]))
                    .order(projects::id)
                    .select(projects::name)
                    .load::<String>(conn)?;
                // the statements this backend holds prepared for that query
                let prepared = names(
                    conn,
                    "SELECT name FROM pg_prepared_statements \
                     WHERE statement LIKE 'SELECT \"projects\".\"name\" FROM \"projects\"%' ORDER BY name",
                )?;
                let backend = count(conn, "SELECT pg_backend_pid()::bigint AS n")?;
                Ok((rows, prepared, backend))
            };
            read(conn).map_err(StoreError::internal)
        })
    };
    // a pool of one connection: every scope gets the same backend (pid)
    let (_, first, backend) = read(&a.schema_name)?;
    assert_eq!(first.len(), 1, "one statement prepared: {first:?}");
    for _ in 0..3 {
        for (schema, expected) in
            [(&a.schema_name, ["alpha one", "alpha two"]), (&b.schema_name, ["beta one", "beta two"])]
        {
            let (rows, prepared, on) = read(schema)?;
            assert_eq!(rows, expected);
            assert_eq!((&prepared, on), (&first, backend), "the same statement on the same connection");
        }
    }
    Ok(())
}

/// A store (main pool of 2) with its tenant scopes on `count` shards of one
/// connection each.
fn one_connection_shards(
    count: usize,
    checkout_timeout: Duration,
) -> Result<(TestDatabase, PgStore), Box<dyn std::error::Error>> {
    let (db, store) = store(2)?;
    let mut one = PoolSettings::new(db.url());
    one.max_size = 1;
    one.checkout_timeout = checkout_timeout;
    let shards = (0..count).map(|_| build_pool(&one)).collect::<Result<Vec<_>, _>>()?;
    Ok((db, store.with_tenant_shards(shards)))
}

fn backend_pid(conn: &mut PgConnection) -> Result<i32, StoreError> {
    sql::<Integer>("SELECT pg_backend_pid()").get_result::<i32>(conn).map_err(StoreError::internal)
}

/// The backend a scope of `schema` runs on, and the project names it sees.
fn visit(store: &PgStore, schema: &SchemaName) -> Result<(i32, Vec<String>), StoreError> {
    store.in_tenant_scope(schema, |conn| {
        let names = projects::table.select(projects::name).load::<String>(conn).map_err(StoreError::internal)?;
        Ok((backend_pid(conn)?, names))
    })
}

fn add_project(store: &PgStore, schema: &SchemaName, name: &str) -> Result<(), StoreError> {
    store.in_tenant_scope(schema, |conn| {
        conn.batch_execute(&format!("INSERT INTO projects (id, name, owner_id) VALUES (1, '{name}', 1)"))
            .map_err(StoreError::internal)
    })
}

/// A scope of a tenant held open on its connection until [`Held::end`].
struct Held {
    /// The backend it holds.
    pid: i32,
    release: mpsc::Sender<()>,
    thread: JoinHandle<Result<(), StoreError>>,
}

impl Held {
    /// Starts the scope on another thread and returns once it is inside.
    fn start(store: &PgStore, schema: &SchemaName) -> Result<Self, Box<dyn std::error::Error>> {
        let (entered, inside) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let (store, schema) = (store.clone(), schema.clone());
        let thread = std::thread::spawn(move || {
            store.in_tenant_scope(&schema, |conn| {
                let _ = entered.send(backend_pid(conn)?);
                let _ = released.recv();
                Ok(())
            })
        });
        Ok(Self { pid: inside.recv()?, release, thread })
    }

    /// Holds both shards of a two-shard store with two scopes of `schema`:
    /// the second, finding the first's shard busy, spills into the other.
    fn both_shards(store: &PgStore, schema: &SchemaName) -> Result<(Self, Self), Box<dyn std::error::Error>> {
        let first = Self::start(store, schema)?;
        let second = Self::start(store, schema)?;
        assert_ne!(first.pid, second.pid, "the second holder spilled into the other shard");
        Ok((first, second))
    }

    /// Lets the scope commit; it must have succeeded.
    fn end(self) -> TestResult {
        self.release.send(())?;
        self.thread.join().map_err(|_| "a held scope panicked")??;
        Ok(())
    }
}

/// With shards, a tenant's scopes always run on the same backend (a shard
/// of one connection here), the tenants spread over every shard, and each
/// still reads only its own rows.
#[test]
fn sharded_scopes_keep_each_tenant_on_its_own_backend() -> TestResult {
    let (_db, store) = one_connection_shards(4, Duration::from_secs(5))?;
    let slugs: Vec<String> = (0..12).map(|i| format!("shard{i:02}")).collect();
    let tenants = slugs.iter().map(|slug| provision(&store, slug)).collect::<Result<Vec<_>, _>>()?;
    let mut first = Vec::new();
    for tenant in &tenants {
        add_project(&store, &tenant.schema_name, tenant.slug.as_str())?;
        first.push(visit(&store, &tenant.schema_name)?.0);
    }
    for _ in 0..3 {
        for (tenant, pid) in tenants.iter().zip(&first) {
            let (backend, names) = visit(&store, &tenant.schema_name)?;
            assert_eq!(backend, *pid, "{} moved to another backend", tenant.slug);
            assert_eq!(names, vec![tenant.slug.as_str().to_owned()]);
        }
    }
    let mut distinct = first.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() >= 3, "12 tenants used only {} of 4 shards: {first:?}", distinct.len());
    Ok(())
}

/// A tenant whose shard is busy with a slow scope does not wait for it:
/// after a short wait it runs on an idle connection of another shard, still
/// in its own schema, and goes back to its own shard once that is free.
#[test]
fn a_busy_shard_spills_over_to_an_idle_one() -> TestResult {
    let (_db, store) = one_connection_shards(2, Duration::from_secs(5))?;
    let acme = provision(&store, "acme")?;
    add_project(&store, &acme.schema_name, "acme project")?;
    let (home, _) = visit(&store, &acme.schema_name)?;
    // a tenant of the other shard, whose visit opens that shard's connection
    let mut other_shard = None;
    for n in 0..16 {
        let other = provision(&store, &format!("other{n}"))?;
        let (pid, names) = visit(&store, &other.schema_name)?;
        assert!(names.is_empty(), "a new tenant sees projects: {names:?}");
        if pid != home {
            other_shard = Some(pid);
            break;
        }
    }
    let other_shard = other_shard.ok_or("16 tenants all hashed to acme's shard")?;

    let slow = Held::start(&store, &acme.schema_name)?;
    // had it waited for its own shard, it would have run on `home`
    let (spilled, names) = visit(&store, &acme.schema_name)?;
    assert_eq!(spilled, other_shard, "acme's second scope waited for its own busy shard");
    assert_eq!(names, vec!["acme project"], "the spilled scope must read acme's schema");
    slow.end()?;
    let (back, names) = visit(&store, &acme.schema_name)?;
    assert_eq!((back, names), (home, vec!["acme project".to_owned()]), "acme is back on its own shard");
    Ok(())
}

/// When its own shard stays busy and no other has a connection to spare, a
/// scope keeps trying until the check-out timeout, then fails as
/// unavailable (503), and the store still counts the database as reachable.
#[test]
fn a_scope_with_every_shard_busy_is_unavailable_after_the_checkout_timeout() -> TestResult {
    let (_db, store) = one_connection_shards(2, Duration::from_millis(300))?;
    let store = store.with_shard_spill_after(Duration::from_millis(20));
    let tenants = (0..6).map(|n| provision(&store, &format!("busy{n}"))).collect::<Result<Vec<_>, _>>()?;
    // both shards held: the second holder of the same tenant spills into the other
    let (first, second) = Held::both_shards(&store, &tenants[0].schema_name)?;
    for tenant in &tenants {
        let outcome = store.in_tenant_scope(&tenant.schema_name, |_conn| Ok::<_, StoreError>(()));
        assert!(
            matches!(outcome, Err(StoreError::Unavailable(_))),
            "{} ran or failed otherwise with both shards held: {outcome:?}",
            tenant.slug
        );
    }
    first.end()?;
    second.end()?;
    // a busy pool is not an unreachable database: the next scope runs
    store.in_tenant_scope(&tenants[0].schema_name, |_conn| Ok::<_, StoreError>(()))?;
    Ok(())
}

/// A scope that found no shard to spare keeps looking: once another
/// shard's connection is free while its own is still held, it runs there.
#[test]
fn a_waiting_scope_takes_a_connection_another_shard_frees_later() -> TestResult {
    let (_db, store) = one_connection_shards(2, Duration::from_secs(10))?;
    let store = store.with_shard_spill_after(Duration::from_millis(20));
    let acme = provision(&store, "acme")?;
    // hold acme's shard, then the other one (acme's next scope spills into it)
    let (home, other) = Held::both_shards(&store, &acme.schema_name)?;
    let other_pid = other.pid;

    let waiting = {
        let (store, schema) = (store.clone(), acme.schema_name.clone());
        std::thread::spawn(move || visit(&store, &schema))
    };
    // let the waiting scope find nothing to spare at least once, then free the other shard
    std::thread::sleep(Duration::from_millis(100));
    assert!(!waiting.is_finished(), "the scope ran (or gave up) while both shards were held");
    other.end()?;
    let (ran_on, _) = waiting.join().map_err(|_| "the waiting scope panicked")??;
    assert_eq!(ran_on, other_pid, "the waiting scope took the freed connection of the other shard");
    home.end()?;
    Ok(())
}

#[test]
fn a_snapshot_scope_sees_the_database_as_of_its_first_read_and_writes_nothing() -> TestResult {
    use taskforce_domain::StoreExt;
    let (_db, store) = store(2)?;
    let acme = provision(&store, "acme")?;
    let insert = |name: &str| {
        store.in_tenant_scope(&acme.schema_name, |conn| {
            conn.batch_execute(&format!("INSERT INTO projects (name, owner_id) VALUES ('{name}', 1)"))
                .map_err(StoreError::internal)
        })
    };
    insert("before")?;
    // the projects' rows and count as a dump hands them over
    let projects_of = |tx: &mut dyn taskforce_domain::TenantTx| {
        let (mut table, mut rows, mut count) = (String::new(), Vec::new(), None);
        tx.data().dump_chunks(1000, &mut |event| {
            match event {
                DumpEvent::Table(name) => table = name.to_owned(),
                DumpEvent::Rows(chunk) if table == "projects" => rows.extend_from_slice(chunk),
                DumpEvent::Done(n) if table == "projects" => count = Some(n),
                _ => {}
            }
            Ok(())
        })?;
        Ok::<_, StoreError>((count, rows))
    };
    let (first, second) = store.snapshot(&acme, |tx| {
        let first = projects_of(tx)?;
        // another connection commits a project while the snapshot is open
        insert("meanwhile")?;
        Ok::<_, StoreError>((first, projects_of(tx)?))
    })?;
    let (count, rows) = &first;
    assert_eq!(*count, Some(1));
    assert!(rows.concat().contains("\"before\"") && !rows.concat().contains("meanwhile"), "{rows:?}");
    assert_eq!(second, first, "the second read saw the same snapshot");
    // outside it, the project committed meanwhile is there
    assert_eq!(visit(&store, &acme.schema_name)?.1.len(), 2);

    // a write inside a snapshot is refused, and nothing is written
    let refused = store.snapshot(&acme, |tx| tx.data().load_rows("projects", &format!("[{}]", rows.join(","))));
    let error = refused.err().ok_or("a write in a snapshot succeeded")?;
    assert!(error.to_string().contains("read-only transaction"), "{error}");
    assert_eq!(visit(&store, &acme.schema_name)?.1.len(), 2);
    next_user_sees_no_tenant_tables(&store)?;
    Ok(())
}
