//! The dependency rule, read from `cargo metadata`: the domain stays free of
//! I/O crates, and HTTP reaches storage only through the application layer.

use std::{collections::BTreeSet, process::Command};

fn dependencies_of(package: &str) -> Result<BTreeSet<String>, Box<dyn std::error::Error>> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()?;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let packages = metadata["packages"].as_array().ok_or("no packages")?;
    let found = packages.iter().find(|p| p["name"] == package).ok_or_else(|| format!("no package {package}"))?;
    Ok(found["dependencies"]
        .as_array()
        .ok_or("no dependencies")?
        .iter()
        .filter(|d| d["kind"].is_null())
        .filter_map(|d| d["name"].as_str().map(str::to_owned))
        .collect())
}

#[test]
fn the_domain_depends_on_no_io_crate() -> Result<(), Box<dyn std::error::Error>> {
    let deps = dependencies_of("taskforce-domain")?;
    let forbidden =
        ["diesel", "diesel_migrations", "actix-web", "actix-rt", "redis", "deadpool-redis", "r2d2", "tokio"];
    let hits: Vec<&str> = forbidden.iter().copied().filter(|f| deps.contains(*f)).collect();
    assert!(hits.is_empty(), "taskforce-domain depends on {hits:?}");
    assert!(
        deps.iter().all(|d| !d.starts_with("taskforce-")),
        "the domain depends on no other crate of ours: {deps:?}"
    );
    Ok(())
}

#[test]
fn the_application_depends_on_the_domain_only() -> Result<(), Box<dyn std::error::Error>> {
    let deps = dependencies_of("taskforce-application")?;
    let ours: Vec<&String> = deps.iter().filter(|d| d.starts_with("taskforce-")).collect();
    assert_eq!(ours, vec!["taskforce-domain"]);
    for io in ["diesel", "actix-web", "tokio", "redis", "deadpool-redis", "r2d2"] {
        assert!(!deps.contains(io), "taskforce-application depends on {io}");
    }
    Ok(())
}

#[test]
fn http_never_reaches_persistence() -> Result<(), Box<dyn std::error::Error>> {
    let deps = dependencies_of("taskforce-http")?;
    for storage in ["taskforce-persistence", "diesel", "r2d2"] {
        assert!(!deps.contains(storage), "taskforce-http depends on {storage}");
    }
    assert!(deps.contains("taskforce-application"));
    Ok(())
}
