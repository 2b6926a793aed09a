//! The ephemeral cluster starts from the installed binaries alone, serves
//! queries, and test databases come and go on it.

use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_types::Integer};
use taskforce_pgcluster::{start_ephemeral, with_database};

#[derive(QueryableByName)]
struct Answer {
    #[diesel(sql_type = Integer)]
    answer: i32,
}

#[test]
fn an_ephemeral_cluster_answers_queries_whatever_the_environment_says() -> Result<(), Box<dyn std::error::Error>> {
    let configured =
        ["TASKFORCE__DATABASE__URL", "DATABASE_URL"].iter().any(|v| std::env::var(v).is_ok_and(|u| !u.is_empty()));
    if configured && taskforce_pgcluster::PgBinaries::locate().is_err() {
        // a machine with a running server but no server binaries: the suite
        // uses the configured URL and never needs the ephemeral cluster
        return Ok(taskforce_pgcluster::skip_unless_required(
            "no PostgreSQL server binaries here, and a database URL is configured",
        )?);
    }
    let url = start_ephemeral()?;
    assert!(url.starts_with("postgres://postgres@127.0.0.1:"), "{url}");
    let mut conn = PgConnection::establish(&url)?;
    let rows: Vec<Answer> = diesel::sql_query("SELECT 41 + 1 AS answer").load(&mut conn)?;
    assert_eq!(rows.iter().map(|r| r.answer).collect::<Vec<_>>(), vec![42]);

    diesel::sql_query("CREATE DATABASE scratch").execute(&mut conn)?;
    let mut scratch = PgConnection::establish(&with_database(&url, "scratch"))?;
    let rows: Vec<Answer> = diesel::sql_query("SELECT 7 AS answer").load(&mut scratch)?;
    assert_eq!(rows.len(), 1);
    Ok(())
}
