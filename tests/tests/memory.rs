//! Memory of the server while files pass through it: uploads and
//! downloads are streamed, so neither a refused 64 MiB upload nor a 96 MiB
//! round trip grows the process by anything like the file's size. A test
//! binary of its own with one test, so no other test's server shares the
//! process whose resident memory is measured.

use reqwest::Method;
use taskforce_tests::{
    TestResult,
    files::{resident_bytes, streamed_multipart, task_of},
    json, spawn_app_with,
};

/// Growth allowed: a few buffers per transfer, the allocator's slack; a
/// file held whole (64 or 96 MiB) would exceed it.
const ALLOWED: u64 = 32 << 20;

fn mib(bytes: u64) -> u64 {
    bytes >> 20
}

#[tokio::test]
async fn refused_and_large_transfers_stream_without_holding_the_file() -> TestResult {
    let limit: u64 = 128 << 20;
    let app = spawn_app_with(|s| s.storage.max_upload_bytes = limit).await?;
    let (olga, task) = task_of(&app, "acme", "olga", "Launch").await?;
    let path = format!("/api/tasks/{task}/attachments/");

    // 192 MiB offered without a declared length: refused once 128 MiB passed
    let before = resident_bytes()?;
    let refused =
        app.call_as(Method::POST, "acme", &olga.access, &path).multipart(streamed_multipart(192 << 20)).send().await;
    let after_refused = resident_bytes()?.saturating_sub(before);
    match refused {
        Ok(response) => assert_eq!(response.status().as_u16(), 413),
        Err(error) => assert!(error.is_request() || error.is_body(), "{error}"),
    }

    // 96 MiB up and down
    let size: u64 = 96 << 20;
    let before = resident_bytes()?;
    let (status, created) = json(
        app.call_as(Method::POST, "acme", &olga.access, &path)
            .multipart(streamed_multipart(usize::try_from(size)?))
            .send()
            .await?,
    )
    .await?;
    let after_upload = resident_bytes()?.saturating_sub(before);
    assert_eq!((status, created["size"].as_u64()), (201, Some(size)), "{created}");
    let id = created["id"].as_i64().ok_or("id")?;
    let mut download = app.get_as("acme", &olga.access, &format!("/api/attachments/{id}/download/")).send().await?;
    let mut received: u64 = 0;
    let mut all_z = true;
    while let Some(chunk) = download.chunk().await? {
        received += chunk.len() as u64;
        all_z &= chunk.iter().all(|b| *b == b'z');
    }
    let after_download = resident_bytes()?.saturating_sub(before);

    assert_eq!(received, size);
    assert!(all_z, "the downloaded bytes differ");
    assert!(after_refused < ALLOWED, "a refused upload grew the process by {} MiB", mib(after_refused));
    assert!(after_upload < ALLOWED, "the upload grew the process by {} MiB", mib(after_upload));
    assert!(after_download < ALLOWED, "the download grew the process by {} MiB", mib(after_download));
    Ok(())
}
