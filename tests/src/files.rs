//! Helpers of the attachment tests: tenants with a task, uploads, the
//! local file store's folders, and bodies produced while they are sent.

use std::path::{Path, PathBuf};

use futures_util::stream;
use reqwest::{
    Body, Method,
    multipart::{Form, Part},
};
use taskforce_domain::{Plan, Role};

use crate::{Session, TestApp, json};

/// Deterministic bytes that are not all alike.
pub fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + usize::from(seed) * 7) % 251) as u8).collect()
}

/// Every file under `dir`, relative to it.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                found.push(relative.to_path_buf());
            }
        }
    }
    found.sort();
    found
}

/// A tenant with an owner, a project and a task; the owner's session and the task id.
pub async fn task_of(
    app: &TestApp,
    slug: &str,
    owner: &str,
    title: &str,
) -> Result<(Session, i64), Box<dyn std::error::Error>> {
    app.create_tenant(slug, Plan::Premium, false).await?;
    app.member(slug, owner, Role::Owner).await?;
    let session = app.login(slug, owner).await?;
    let (_, project) = json(
        app.call_as(Method::POST, slug, &session.access, "/api/projects/")
            .json(&serde_json::json!({"name": format!("{title} project")}))
            .send()
            .await?,
    )
    .await?;
    let (status, task) = json(
        app.call_as(Method::POST, slug, &session.access, &format!("/api/projects/{}/tasks/", project["id"]))
            .json(&serde_json::json!({"title": title}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 201, "{task}");
    Ok((session, task["id"].as_i64().ok_or("task id")?))
}

/// Uploads `bytes` as the part `file`.
pub async fn upload(
    app: &TestApp,
    slug: &str,
    token: &str,
    task: i64,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> Result<(u16, serde_json::Value), Box<dyn std::error::Error>> {
    let part = Part::bytes(bytes).file_name(name.to_owned()).mime_str(mime)?;
    json(
        app.call_as(Method::POST, slug, token, &format!("/api/tasks/{task}/attachments/"))
            .multipart(Form::new().part("file", part))
            .send()
            .await?,
    )
    .await
}

/// This process's resident memory (the server runs in it), in bytes: `VmRSS`
/// of /proc/self/status, which the kernel gives in KiB whatever the page size.
pub fn resident_bytes() -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .ok_or("no VmRSS in /proc/self/status")?
        .trim()
        .parse()?;
    Ok(kib * 1024)
}

/// A body of `total` bytes produced 64 KiB at a time, never held whole.
pub fn streamed(total: usize) -> Body {
    let chunk = bytes::Bytes::from(vec![b'z'; 64 * 1024]);
    let chunks = total.div_ceil(chunk.len());
    Body::wrap_stream(stream::iter((0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone()))))
}

pub fn streamed_multipart(total: usize) -> Form {
    Form::new().part("file", Part::stream(streamed(total)).file_name("big.bin"))
}
