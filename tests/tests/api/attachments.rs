//! Attachments through the API: byte-for-byte round trips, hostile file
//! names, tenant isolation down to the folders on disk, the upload limit
//! enforced while streaming, and files leaving with their task, project or
//! tenant. Memory use is checked in its own test binary (`memory.rs`).

use reqwest::{
    Method,
    multipart::{Form, Part},
};
use taskforce_domain::Role;
use taskforce_tests::{
    TestApp, TestResult,
    files::{content, files_under, streamed, streamed_multipart, task_of, upload},
    json, spawn_app, spawn_app_with,
};

/// A multipart body written by hand, for names a client library would not send.
fn raw_multipart(disposition: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----taskforce-test-boundary";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: text/plain\r\n\r\n").into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Sends `body` as an upload whose `Content-Length` claims `missing` bytes
/// more, then closes the sending side: the raw answer.
async fn cut_short(
    app: &TestApp,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
    missing: usize,
) -> Result<String, Box<dyn std::error::Error>> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: acme.localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len() + missing
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await?;
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body).await?;
    stream.shutdown().await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer)
}

#[tokio::test]
async fn an_upload_comes_back_byte_for_byte_with_safe_headers_and_leaves_with_delete() -> TestResult {
    let app = spawn_app().await?;
    let (olga, task) = task_of(&app, "acme", "olga", "Launch").await?;
    let bytes = content(3 * 1024 * 1024 + 17, 1);

    let (status, created) =
        upload(&app, "acme", &olga.access, task, "flight plan.pdf", "application/pdf", bytes.clone()).await?;
    assert_eq!(status, 201, "{created}");
    let keys: Vec<&str> = created.as_object().ok_or("object")?.keys().map(String::as_str).collect();
    assert_eq!(keys, ["content_type", "created_at", "filename", "id", "size", "task_id", "uploaded_by"]);
    assert_eq!(
        (
            &created["filename"],
            &created["content_type"],
            &created["size"],
            &created["task_id"],
            &created["uploaded_by"]
        ),
        (
            &serde_json::json!("flight plan.pdf"),
            &serde_json::json!("application/pdf"),
            &serde_json::json!(bytes.len()),
            &serde_json::json!(task),
            &serde_json::json!(olga.user_id)
        )
    );
    let id = created["id"].as_i64().ok_or("id")?;

    // a client that takes gzip still gets the bytes as stored, and no
    // `Content-Encoding` at all (RFC 9110: `identity` is not one to send)
    let download = app
        .get_as("acme", &olga.access, &format!("/api/attachments/{id}/download/"))
        .header("accept-encoding", "gzip")
        .send()
        .await?;
    assert_eq!(download.status().as_u16(), 200);
    let header = |name: &str| download.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(header("content-encoding"), None);
    assert_eq!(header("content-type").as_deref(), Some("application/pdf"));
    assert_eq!(header("content-disposition").as_deref(), Some("attachment; filename=\"flight plan.pdf\""));
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(header("content-length"), Some(bytes.len().to_string()));
    let body = download.bytes().await?;
    assert!(body.as_ref() == bytes.as_slice(), "the downloaded bytes differ");

    let (_, listed) =
        json(app.get_as("acme", &olga.access, &format!("/api/tasks/{task}/attachments/")).send().await?).await?;
    assert_eq!((listed["count"].as_i64(), listed["results"][0]["id"].as_i64()), (Some(1), Some(id)));
    let (_, shown) = json(app.get_as("acme", &olga.access, &format!("/api/attachments/{id}/")).send().await?).await?;
    assert_eq!(shown, created);

    let on_disk = files_under(app.files_dir.path());
    assert_eq!(on_disk.len(), 1, "{on_disk:?}");
    assert!(on_disk[0].starts_with("tenant_acme"), "{on_disk:?}");
    // a delete with an If-Match that names another version changes nothing
    let path = format!("/api/attachments/{id}/");
    let stale = app.call_as(Method::DELETE, "acme", &olga.access, &path).header("if-match", "\"attachment-9-v9\"");
    let (status, body) = json(stale.send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (412, Some("precondition_failed")));
    assert_eq!(files_under(app.files_dir.path()).len(), 1, "still there");
    let etag = app.get_as("acme", &olga.access, &path).send().await?.headers()["etag"].to_str()?.to_owned();
    let deleted = app.call_as(Method::DELETE, "acme", &olga.access, &path).header("if-match", etag).send().await?;
    assert_eq!(deleted.status().as_u16(), 204);
    assert!(files_under(app.files_dir.path()).is_empty(), "the bytes went with the record");
    let gone = app.get_as("acme", &olga.access, &format!("/api/attachments/{id}/download/")).send().await?;
    assert_eq!(gone.status().as_u16(), 404);
    let (_, activity) =
        json(app.get_as("acme", &olga.access, "/api/activity/?target_type=attachment").send().await?).await?;
    let verbs: Vec<&str> =
        activity["results"].as_array().ok_or("results")?.iter().filter_map(|a| a["verb"].as_str()).collect();
    assert_eq!(verbs, ["deleted", "created"]);
    assert_eq!(activity["results"][1]["changes"]["filename"], serde_json::json!([null, "flight plan.pdf"]));
    Ok(())
}

#[tokio::test]
async fn a_json_file_downloads_with_the_type_it_was_stored_with() -> TestResult {
    let app = spawn_app().await?;
    let (olga, task) = task_of(&app, "acme", "olga", "Launch").await?;
    let bytes = br#"{"exported": true}"#.to_vec();
    let (status, created) = upload(&app, "acme", &olga.access, task, "export.json", "application/json", bytes).await?;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().ok_or("id")?;
    let download = app.get_as("acme", &olga.access, &format!("/api/attachments/{id}/download/")).send().await?;
    let declared = download.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    // the API's own JSON says charset=utf-8; a stored file is sent as it was declared
    assert_eq!((download.status().as_u16(), declared.as_deref()), (200, Some("application/json")));
    assert_eq!(download.bytes().await?.as_ref(), br#"{"exported": true}"#);
    Ok(())
}

#[tokio::test]
async fn hostile_file_names_are_stored_under_generated_keys_and_shown_sanitised() -> TestResult {
    let app = spawn_app().await?;
    let (olga, task) = task_of(&app, "acme", "olga", "Launch").await?;
    let long = format!("{}.txt", "n".repeat(296));
    let cases: Vec<(String, &str)> = vec![
        ("form-data; name=\"file\"; filename=\"../../x\"".into(), "x"),
        ("form-data; name=\"file\"; filename=\"..%2f..%2fx\"".into(), "%2f..%2fx"),
        ("form-data; name=\"file\"; filename=\"/etc/passwd\"".into(), "passwd"),
        // a Windows path, quoted as old browsers and curl -F send it: the
        // backslashes are no escapes (Django reads it so)
        ("form-data; name=\"file\"; filename=\"C:\\Users\\me\\report.pdf\"".into(), "report.pdf"),
        ("form-data; name=\"file\"; filename*=UTF-8''a%00b%2F..%2Fc.txt".into(), "c.txt"),
        ("form-data; name=\"file\"; filename*=UTF-8''nul%00byte.txt".into(), "nulbyte.txt"),
        // ISO-8859-1, which RFC 5987 asks every recipient to read
        ("form-data; name=\"file\"; filename*=ISO-8859-1''r%E9sum%E9.pdf".into(), "résumé.pdf"),
        ("form-data; name=\"file\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf".into(), "résumé.pdf"),
        // one that cannot be read gives way to filename, as in browsers
        ("form-data; name=\"file\"; filename=\"good.txt\"; filename*=latin1''r%E9sum%E9.pdf".into(), "good.txt"),
        ("form-data; name=\"file\"; filename=\"good.txt\"; filename*=UTF-8''%FF.txt".into(), "good.txt"),
        ("form-data; name=\"file\"; filename=\"good.txt\"; filename*=UTF-8''".into(), "good.txt"),
        (format!("form-data; name=\"file\"; filename=\"{long}\""), ""),
        ("form-data; name=\"file\"; filename=\"..\"".into(), "file"),
    ];
    for (disposition, shown) in &cases {
        let (content_type, body) = raw_multipart(disposition, b"payload");
        let (status, created) = json(
            app.call_as(Method::POST, "acme", &olga.access, &format!("/api/tasks/{task}/attachments/"))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await?,
        )
        .await?;
        assert_eq!(status, 201, "{disposition}: {created}");
        let name = created["filename"].as_str().ok_or("filename")?;
        if shown.is_empty() {
            assert_eq!(name.chars().count(), 255, "{name}");
            assert!(name.ends_with("n.txt"), "{name}");
        } else {
            assert_eq!(name, *shown, "{disposition}");
        }
        let id = created["id"].as_i64().ok_or("id")?;
        let download = app.get_as("acme", &olga.access, &format!("/api/attachments/{id}/download/")).send().await?;
        let disposition_back =
            download.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(disposition_back.starts_with("attachment; "), "{disposition_back}");
        assert!(!disposition_back.contains('/') && !disposition_back.contains('\\'), "{disposition_back}");
        assert_eq!(download.bytes().await?.as_ref(), b"payload");
    }
    // every file is <tenant schema>/<2 hex>/<32 hex>, nothing else anywhere
    let on_disk = files_under(app.files_dir.path());
    assert_eq!(on_disk.len(), cases.len(), "{on_disk:?}");
    for path in &on_disk {
        let parts: Vec<String> = path.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        assert_eq!(parts.len(), 3, "{path:?}");
        assert_eq!(parts[0], "tenant_acme");
        assert!(parts[2].len() == 32 && parts[2].chars().all(|c| c.is_ascii_hexdigit()), "{path:?}");
        assert!(parts[2].starts_with(&parts[1]), "{path:?}");
    }
    let parent = app.files_dir.path().parent().ok_or("parent")?;
    for escaped in ["x", "passwd", "c.txt"] {
        assert!(!parent.join(escaped).exists(), "{escaped} escaped the file store");
    }
    Ok(())
}

#[tokio::test]
async fn tenant_b_cannot_list_fetch_download_or_delete_tenant_a_s_attachments() -> TestResult {
    let app = spawn_app().await?;
    let (ann, a_task) = task_of(&app, "alpha", "ann", "Alpha task").await?;
    let (bob, b_task) = task_of(&app, "beta", "bob", "Beta task").await?;
    assert_eq!(a_task, b_task, "both schemas number from 1");
    let (_, a_first) =
        upload(&app, "alpha", &ann.access, a_task, "alpha-secret.txt", "text/plain", b"ALPHA ONE".to_vec()).await?;
    let (_, a_second) =
        upload(&app, "alpha", &ann.access, a_task, "alpha-two.txt", "text/plain", b"ALPHA TWO".to_vec()).await?;
    let (_, b_first) = upload(&app, "beta", &bob.access, b_task, "beta.txt", "text/plain", b"BETA".to_vec()).await?;
    assert_eq!(a_first["id"], b_first["id"], "the same id in both schemas");
    let a_only = a_second["id"].as_i64().ok_or("id")?;
    let shared = a_first["id"].as_i64().ok_or("id")?;

    // the same ids through beta answer beta's rows, or 404
    let (_, listed) =
        json(app.get_as("beta", &bob.access, &format!("/api/tasks/{b_task}/attachments/")).send().await?).await?;
    let names: Vec<&str> =
        listed["results"].as_array().ok_or("results")?.iter().filter_map(|a| a["filename"].as_str()).collect();
    assert_eq!(names, ["beta.txt"]);
    let (_, shown) =
        json(app.get_as("beta", &bob.access, &format!("/api/attachments/{shared}/")).send().await?).await?;
    assert_eq!(shown["filename"], "beta.txt");
    let download = app.get_as("beta", &bob.access, &format!("/api/attachments/{shared}/download/")).send().await?;
    assert_eq!(download.bytes().await?.as_ref(), b"BETA");
    for path in [format!("/api/attachments/{a_only}/"), format!("/api/attachments/{a_only}/download/")] {
        let (status, body) = json(app.get_as("beta", &bob.access, &path).send().await?).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{path}");
    }
    let (status, body) =
        json(app.call_as(Method::DELETE, "beta", &bob.access, &format!("/api/attachments/{a_only}/")).send().await?)
            .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
    // beta's token on alpha's host is refused outright
    let (status, _) =
        json(app.get_as("alpha", &bob.access, &format!("/api/attachments/{a_only}/download/")).send().await?).await?;
    assert_eq!(status, 401);

    // alpha's files are intact, and each tenant's bytes are in its own folder
    let back = app.get_as("alpha", &ann.access, &format!("/api/attachments/{a_only}/download/")).send().await?;
    assert_eq!(back.bytes().await?.as_ref(), b"ALPHA TWO");
    let on_disk = files_under(app.files_dir.path());
    let in_alpha = on_disk.iter().filter(|p| p.starts_with("tenant_alpha")).count();
    let in_beta = on_disk.iter().filter(|p| p.starts_with("tenant_beta")).count();
    assert_eq!((in_alpha, in_beta, on_disk.len()), (2, 1, 3), "{on_disk:?}");
    for path in on_disk.iter().filter(|p| p.starts_with("tenant_alpha")) {
        let bytes = std::fs::read(app.files_dir.path().join(path))?;
        assert!(bytes.starts_with(b"ALPHA"), "{path:?} holds another tenant's bytes");
    }
    Ok(())
}

#[tokio::test]
async fn uploads_over_the_limit_are_refused_early_and_leave_nothing() -> TestResult {
    let app = spawn_app_with(|s| s.storage.max_upload_bytes = 1024 * 1024).await?;
    let (olga, task) = task_of(&app, "acme", "olga", "Launch").await?;
    let path = format!("/api/tasks/{task}/attachments/");

    // a declared length over the limit: refused before the body is read
    let declared = Form::new().part("file", Part::bytes(content(3 * 1024 * 1024, 2)).file_name("big.bin"));
    let (status, body) =
        json(app.call_as(Method::POST, "acme", &olga.access, &path).multipart(declared).send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("1048576")), "{body}");

    // no declared length: refused once the limit is passed; what follows
    // (up to 16 MiB) is read away, so the client reads the answer
    let response =
        app.call_as(Method::POST, "acme", &olga.access, &path).multipart(streamed_multipart(8 << 20)).send().await?;
    let (status, body) = json(response).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")), "{body}");

    // a file of exactly the limit is fine; nothing of the refused ones stayed
    let exact = Form::new().part("file", Part::bytes(content(1024 * 1024, 3)).file_name("exact.bin"));
    let (status, created) =
        json(app.call_as(Method::POST, "acme", &olga.access, &path).multipart(exact).send().await?).await?;
    assert_eq!((status, created["size"].as_u64()), (201, Some(1024 * 1024)), "{created}");
    let (_, listed) = json(app.get_as("acme", &olga.access, &path).send().await?).await?;
    assert_eq!(listed["count"], 1);
    let on_disk = files_under(app.files_dir.path());
    assert_eq!(on_disk.len(), 1, "partial files were left: {on_disk:?}");
    Ok(())
}

#[tokio::test]
async fn bad_uploads_get_clear_errors_and_store_nothing() -> TestResult {
    let app = spawn_app().await?;
    let (olga, task) = task_of(&app, "acme", "olga", "Launch").await?;
    app.member("acme", "vic", Role::Viewer).await?;
    let vic = app.login("acme", "vic").await?;
    let path = format!("/api/tasks/{task}/attachments/");

    let (status, body) = upload(&app, "acme", &vic.access, task, "v.txt", "text/plain", b"v".to_vec()).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("permission_denied")), "{body}");
    // a viewer is refused before the media type is judged, as DRF checks permissions first
    let (status, body) = json(
        app.call_as(Method::POST, "acme", &vic.access, &path).json(&serde_json::json!({"file": "x"})).send().await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("permission_denied")), "{body}");
    let (status, body) = upload(&app, "acme", &olga.access, task + 1000, "x.txt", "text/plain", b"x".to_vec()).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
    let (status, body) = json(
        app.call_as(Method::POST, "acme", &olga.access, &path).json(&serde_json::json!({"file": "x"})).send().await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (415, Some("unsupported_media_type")), "{body}");
    // an upload is stored as it comes: no Content-Encoding is decoded, so
    // none is taken (a gzip one would be stored compressed)
    for coding in ["gzip", "deflate", "br"] {
        let (content_type, raw) = raw_multipart("form-data; name=\"file\"; filename=\"z.txt\"", b"zz");
        let (status, body) = json(
            app.call_as(Method::POST, "acme", &olga.access, &path)
                .header("content-type", content_type)
                .header("content-encoding", coding)
                .body(raw)
                .send()
                .await?,
        )
        .await?;
        assert_eq!((status, body["error"]["code"].as_str()), (415, Some("unsupported_media_type")), "{coding}: {body}");
    }
    let other_field = Form::new().text("note", "no file here");
    let (status, body) =
        json(app.call_as(Method::POST, "acme", &olga.access, &path).multipart(other_field).send().await?).await?;
    assert_eq!((status, body["error"]["fields"]["file"][0].as_str()), (400, Some("No file was submitted.")), "{body}");
    let (status, body) = upload(&app, "acme", &olga.access, task, "empty.txt", "text/plain", Vec::new()).await?;
    assert_eq!(
        (status, body["error"]["fields"]["file"][0].as_str()),
        (400, Some("The submitted file is empty.")),
        "{body}"
    );
    let (content_type, broken) = ("multipart/form-data; boundary=nope".to_owned(), b"not multipart at all".to_vec());
    let (status, body) = json(
        app.call_as(Method::POST, "acme", &olga.access, &path)
            .header("content-type", content_type)
            .body(broken)
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("validation_failed")), "{body}");
    // a body that ends before the file does: without its closing boundary,
    // or cut inside it, is an interrupted upload, not a shorter file
    let (content_type, whole) = raw_multipart(r#"form-data; name="file"; filename="cut.txt""#, b"hello world");
    let closing = whole.len() - "\r\n------taskforce-test-boundary--\r\n".len();
    for cut in [closing, closing + 5, closing - 3] {
        let sent = app
            .call_as(Method::POST, "acme", &olga.access, &path)
            .header("content-type", content_type.as_str())
            .body(whole[..cut].to_vec());
        let (status, body) = json(sent.send().await?).await?;
        assert_eq!(
            (status, body["error"]["fields"]["file"][0].as_str()),
            (400, Some("The upload was interrupted before the file ended.")),
            "cut at {cut}: {body}"
        );
    }
    // a whole multipart body that stops short of its declared length is an
    // interrupted upload too: the request never ended
    let (content_type, whole) = raw_multipart(r#"form-data; name="file"; filename="short.txt""#, b"all of it");
    let answer = cut_short(&app, &path, &olga.access, &content_type, whole, 10).await?;
    assert!(
        answer.starts_with("HTTP/1.1 400") && answer.contains("The upload was interrupted before the file ended."),
        "{answer}"
    );
    // other fields after the file count toward the same 64 KiB
    let trailing =
        Form::new().part("file", Part::bytes(b"kept?".to_vec()).file_name("a.txt")).text("note", "n".repeat(65 * 1024));
    let (status, body) =
        json(app.call_as(Method::POST, "acme", &olga.access, &path).multipart(trailing).send().await?).await?;
    assert_eq!(
        (status, body["error"]["fields"]["file"][0].as_str()),
        (400, Some("Fields other than `file` are limited to 64 KiB.")),
        "{body}"
    );
    // a task that does not exist is 404 whatever the body's type, as DRF finds the object first
    let missing = format!("/api/tasks/{}/attachments/", task + 1000);
    let (status, body) = json(
        app.call_as(Method::POST, "acme", &olga.access, &missing)
            .json(&serde_json::json!({"file": "x"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");

    let (_, listed) = json(app.get_as("acme", &olga.access, &path).send().await?).await?;
    assert_eq!(listed["count"], 0);
    assert!(files_under(app.files_dir.path()).is_empty());
    let (_, log) =
        json(app.get_as("acme", &olga.access, "/api/activity/?target_type=attachment").send().await?).await?;
    assert_eq!(log["count"], 0, "{log}");
    Ok(())
}

#[tokio::test]
async fn a_form_with_two_files_keeps_the_last_as_django_did() -> TestResult {
    let app = spawn_app().await?;
    let (olga, task) = task_of(&app, "acme", "olga", "Launch").await?;
    let path = format!("/api/tasks/{task}/attachments/");
    let (first, last) = (content(200 * 1024, 1), content(70 * 1024, 2));
    let form = Form::new()
        .part("file", Part::bytes(first).file_name("first.bin").mime_str("application/pdf")?)
        .text("note", "between the two")
        .part("file", Part::bytes(last.clone()).file_name("last.txt").mime_str("text/plain")?);
    let (status, created) =
        json(app.call_as(Method::POST, "acme", &olga.access, &path).multipart(form).send().await?).await?;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (&created["filename"], &created["content_type"], &created["size"]),
        (&serde_json::json!("last.txt"), &serde_json::json!("text/plain"), &serde_json::json!(last.len()))
    );
    let id = created["id"].as_i64().ok_or("id")?;
    let download = app.get_as("acme", &olga.access, &format!("/api/attachments/{id}/download/")).send().await?;
    assert!(download.bytes().await?.as_ref() == last.as_slice(), "the last file's bytes were kept");

    // nothing of the first: no record, no activity, no bytes
    let (_, listed) = json(app.get_as("acme", &olga.access, &path).send().await?).await?;
    assert_eq!((listed["count"].as_i64(), listed["results"][0]["id"].as_i64()), (Some(1), Some(id)), "{listed}");
    let (_, log) =
        json(app.get_as("acme", &olga.access, "/api/activity/?target_type=attachment").send().await?).await?;
    assert_eq!(log["count"], 1, "{log}");
    let on_disk = files_under(app.files_dir.path());
    assert_eq!(on_disk.len(), 1, "{on_disk:?}");
    Ok(())
}

/// Keeping the last file is no way around the limits: the whole body holds
/// one file's allowance however it is split, at most 100 parts may be named
/// `file`, and a body cut off inside a field after the file is interrupted.
#[tokio::test]
async fn many_file_parts_are_held_to_one_body_s_allowance() -> TestResult {
    let app = spawn_app_with(|s| s.storage.max_upload_bytes = 1024 * 1024).await?;
    let (olga, task) = task_of(&app, "acme", "olga", "Launch").await?;
    let path = format!("/api/tasks/{task}/attachments/");

    // two streamed files, each under the limit, together well over it
    let split = Form::new()
        .part("file", Part::stream(streamed(700 * 1024)).file_name("one.bin"))
        .part("file", Part::stream(streamed(700 * 1024)).file_name("two.bin"));
    let (status, body) =
        json(app.call_as(Method::POST, "acme", &olga.access, &path).multipart(split).send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")), "{body}");

    let mut crowd = Form::new();
    for n in 0..101 {
        crowd = crowd.part("file", Part::bytes(vec![b'x'; 10]).file_name(format!("{n}.txt")));
    }
    let (status, body) =
        json(app.call_as(Method::POST, "acme", &olga.access, &path).multipart(crowd).send().await?).await?;
    assert_eq!(
        (status, body["error"]["fields"]["file"][0].as_str()),
        (400, Some("Too many files: a form may hold at most 100 parts named `file`.")),
        "{body}"
    );

    // the file whole, then a field the body breaks off in
    let boundary = "----taskforce-test-boundary";
    let sent = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\nall of it\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhalf a no"
    )
    .into_bytes();
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let answer = cut_short(&app, &path, &olga.access, &content_type, sent, 40).await?;
    assert!(
        answer.starts_with("HTTP/1.1 400") && answer.contains("The upload was interrupted before the file ended."),
        "{answer}"
    );

    // the allowance counts what lies outside the parts too: an epilogue past
    // it is refused, sent chunked as much as declared; a long preamble is
    // refused by the multipart reader as framing it cannot read
    for (before, after, answer) in
        [(0, 1200 * 1024, (413, "payload_too_large")), (1200 * 1024, 0, (400, "validation_failed"))]
    {
        let (content_type, form) = raw_multipart(r#"form-data; name="file"; filename="f.txt""#, b"small");
        let mut body = vec![b'P'; before];
        if before > 0 {
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(&form);
        body.extend(std::iter::repeat_n(b'E', after));
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
        let sent = app
            .call_as(Method::POST, "acme", &olga.access, &path)
            .header("content-type", content_type)
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)));
        let (status, body) = json(sent.send().await?).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (answer.0, Some(answer.1)), "{before} {after}: {body}");
    }

    let (_, listed) = json(app.get_as("acme", &olga.access, &path).send().await?).await?;
    assert_eq!(listed["count"], 0, "{listed}");
    assert!(files_under(app.files_dir.path()).is_empty());
    Ok(())
}

/// An epilogue after the closing delimiter (which the multipart reader
/// never reads) is read away: the file is kept, and a client that asked
/// for `Connection: close` gets its answer and the end of the connection.
#[tokio::test]
async fn an_epilogue_within_the_allowance_is_read_away_and_the_file_kept() -> TestResult {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = spawn_app().await?;
    let (olga, task) = task_of(&app, "acme", "olga", "Launch").await?;
    let path = format!("/api/tasks/{task}/attachments/");
    let (content_type, mut body) = raw_multipart(r#"form-data; name="file"; filename="e.txt""#, b"kept");
    body.extend(std::iter::repeat_n(b'E', 300 * 1024));
    // chunked, as a client that does not know the length sends it
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: acme.localhost\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        olga.access
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await?;
    stream.write_all(head.as_bytes()).await?;
    for chunk in body.chunks(16 * 1024) {
        stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
        stream.write_all(chunk).await?;
        stream.write_all(b"\r\n").await?;
    }
    stream.write_all(b"0\r\n\r\n").await?;
    let mut answer = String::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .map_err(|_| "the connection stayed open after the answer")??;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let (_, listed) = json(app.get_as("acme", &olga.access, &path).send().await?).await?;
    assert_eq!((listed["count"].as_i64(), listed["results"][0]["size"].as_i64()), (Some(1), Some(4)), "{listed}");
    Ok(())
}

#[tokio::test]
async fn files_leave_with_their_task_project_and_tenant() -> TestResult {
    let app = spawn_app().await?;
    let (olga, first) = task_of(&app, "acme", "olga", "First").await?;
    let (_, task) = json(app.get_as("acme", &olga.access, &format!("/api/tasks/{first}/")).send().await?).await?;
    let project = task["project_id"].as_i64().ok_or("project")?;
    let (_, second) = json(
        app.call_as(Method::POST, "acme", &olga.access, &format!("/api/projects/{project}/tasks/"))
            .json(&serde_json::json!({"title": "Second"}))
            .send()
            .await?,
    )
    .await?;
    let second = second["id"].as_i64().ok_or("second")?;
    for (task, name) in [(first, "a.txt"), (first, "b.txt"), (second, "c.txt")] {
        let (status, _) =
            upload(&app, "acme", &olga.access, task, name, "text/plain", name.as_bytes().to_vec()).await?;
        assert_eq!(status, 201);
    }
    let (_, other) = task_of(&app, "beta", "bob", "Beta").await?;
    let bob = app.login("beta", "bob").await?;
    upload(&app, "beta", &bob.access, other, "kept.txt", "text/plain", b"kept".to_vec()).await?;
    let in_acme =
        |app: &TestApp| files_under(app.files_dir.path()).iter().filter(|p| p.starts_with("tenant_acme")).count();
    assert_eq!(in_acme(&app), 3);

    app.call_as(Method::DELETE, "acme", &olga.access, &format!("/api/tasks/{first}/")).send().await?;
    assert_eq!(in_acme(&app), 1, "the task's two files went");
    app.call_as(Method::DELETE, "acme", &olga.access, &format!("/api/projects/{project}/")).send().await?;
    assert_eq!(in_acme(&app), 0, "the project's file went");

    let (admin, beta) = (app.admin.clone(), taskforce_domain::Slug::parse("beta")?);
    tokio::task::spawn_blocking(move || admin.delete(&beta)).await??;
    assert!(!app.files_dir.path().join("tenant_beta").exists(), "the tenant's folder went with it");
    Ok(())
}

#[tokio::test]
async fn s3_compatible_storage_round_trips_isolates_and_cleans_up() -> TestResult {
    let Some(s3) = taskforce_tests::TestS3::start().await? else {
        eprintln!("skipped: moto_server is not installed (pip install 'moto[server]')");
        return Ok(());
    };
    let url = s3.storage_url("files");
    let app = spawn_app_with(|s| {
        s.storage.url = url.into();
        s.storage.max_upload_bytes = 16 << 20;
    })
    .await?;
    let (ann, a_task) = task_of(&app, "alpha", "ann", "Alpha").await?;
    let (bob, b_task) = task_of(&app, "beta", "bob", "Beta").await?;
    // three parts of 5 MiB and a bit: a real multipart upload
    let bytes = content(12 * 1024 * 1024 + 3, 9);

    let (status, created) =
        upload(&app, "alpha", &ann.access, a_task, "big.bin", "application/octet-stream", bytes.clone()).await?;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().ok_or("id")?;
    let (_, beta_file) = upload(&app, "beta", &bob.access, b_task, "b.txt", "text/plain", b"BETA".to_vec()).await?;
    let back = app.get_as("alpha", &ann.access, &format!("/api/attachments/{id}/download/")).send().await?;
    assert!(back.bytes().await?.as_ref() == bytes.as_slice(), "the downloaded bytes differ");
    let alpha_keys = s3.keys("files/tenant_alpha/").await?;
    assert_eq!(alpha_keys.len(), 1, "{alpha_keys:?}");
    assert_eq!(s3.keys("files/tenant_beta/").await?.len(), 1);
    assert!(files_under(app.files_dir.path()).is_empty(), "nothing on local disk");

    // beta cannot reach alpha's object through its own ids
    assert_eq!(beta_file["id"], created["id"]);
    let crossed = app.get_as("beta", &bob.access, &format!("/api/attachments/{id}/download/")).send().await?;
    assert_eq!(crossed.bytes().await?.as_ref(), b"BETA");

    // too large: aborted, no object and no unfinished upload left
    let (status, _) =
        upload(&app, "alpha", &ann.access, a_task, "huge.bin", "application/octet-stream", content(17 << 20, 1))
            .await?;
    assert_eq!(status, 413);
    let oversized = app
        .call_as(Method::POST, "alpha", &ann.access, &format!("/api/tasks/{a_task}/attachments/"))
        .multipart(streamed_multipart(20 << 20))
        .send()
        .await;
    assert_eq!(oversized?.status().as_u16(), 413);
    assert_eq!(s3.keys("files/tenant_alpha/").await?, alpha_keys);
    assert_eq!(s3.pending_uploads().await?, 0);

    // deleting the task removes the object; deleting the tenant its prefix
    app.call_as(Method::DELETE, "alpha", &ann.access, &format!("/api/tasks/{a_task}/")).send().await?;
    assert!(s3.keys("files/tenant_alpha/").await?.is_empty());
    let (admin, beta) = (app.admin.clone(), taskforce_domain::Slug::parse("beta")?);
    tokio::task::spawn_blocking(move || admin.delete(&beta)).await??;
    assert!(s3.keys("files/tenant_beta/").await?.is_empty());
    Ok(())
}

/// An attachment whose bytes are gone from the file store (a tenant restored
/// from an export, which carries no files; a file removed by hand) keeps its
/// record, and its download answers `404` saying so, not `500`; deleting the
/// record still works.
#[tokio::test]
async fn an_attachment_whose_bytes_are_gone_answers_404_on_download() -> TestResult {
    let app = spawn_app().await?;
    let (olga, task) = task_of(&app, "acme", "olga", "Report").await?;
    let (status, attachment) =
        upload(&app, "acme", &olga.access, task, "notes.txt", "text/plain", content(64, 3)).await?;
    assert_eq!(status, 201, "{attachment}");
    for file in files_under(app.files_dir.path()) {
        std::fs::remove_file(app.files_dir.path().join(file))?;
    }
    let url = format!("/api/attachments/{}/", attachment["id"]);
    let (status, _) = json(app.get_as("acme", &olga.access, &url).send().await?).await?;
    assert_eq!(status, 200);
    let (status, body) = json(app.get_as("acme", &olga.access, &format!("{url}download/")).send().await?).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str(), body["error"]["message"].as_str()),
        (404, Some("not_found"), Some("This attachment's file is no longer stored.")),
        "{body}"
    );
    assert_eq!(app.call_as(Method::DELETE, "acme", &olga.access, &url).send().await?.status().as_u16(), 204);
    Ok(())
}

/// An upload under way while its tenant is deleted records nothing, says
/// the tenant is gone (`403 tenant_inactive`, not a `500`), and does not
/// make the deleted tenant's folder again.
#[tokio::test]
async fn an_upload_whose_tenant_is_deleted_meanwhile_is_refused_and_leaves_no_folder() -> TestResult {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = spawn_app().await?;
    let (olga, task) = task_of(&app, "acme", "olga", "First").await?;
    let (content_type, body) = raw_multipart(r#"form-data; name="file"; filename="big.bin""#, &vec![b'x'; 500_000]);
    let head = format!(
        "POST /api/tasks/{task}/attachments/ HTTP/1.1\r\nHost: acme.localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        olga.access,
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await?;
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body[..300_000]).await?;
    // the server is writing the file (a deadline for the wait, not a speed claim)
    let area = app.files_dir.path().join("tenant_acme");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while files_under(&area).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the upload never began");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (admin, acme) = (app.admin.clone(), taskforce_domain::Slug::parse("acme")?);
    tokio::task::spawn_blocking(move || admin.delete(&acme)).await??;
    assert!(!area.exists(), "the tenant's folder stayed");

    stream.write_all(&body[300_000..]).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains(r#""code":"tenant_inactive""#), "{answer}");
    assert!(!area.exists(), "the deleted tenant's folder was made again: {:?}", files_under(app.files_dir.path()));
    Ok(())
}

/// An upload has no deadline, but one whose body brings no byte for
/// `server.upload_idle_secs` is given up: `408 request_timeout`, nothing
/// kept, and the connection closed (a stalled client would otherwise hold
/// it, a blocking thread and a part-written file as long as it liked). A
/// slow upload that keeps sending, for longer than the allowance in all,
/// is kept.
#[tokio::test]
async fn an_upload_that_stalls_is_408_and_keeps_nothing_while_a_slow_one_is_kept() -> TestResult {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = spawn_app_with(|settings| settings.server.upload_idle_secs = 1).await?;
    let (olga, task) = task_of(&app, "acme", "olga", "Launch").await?;
    let path = format!("/api/tasks/{task}/attachments/");
    let (content_type, body) = raw_multipart(r#"form-data; name="file"; filename="s.bin""#, &vec![b's'; 200_000]);
    let head = |framing: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: acme.localhost\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\n\
             {framing}\r\n\r\n",
            olga.access
        )
    };
    // stalled inside the file, and (chunked) inside the form's first part
    // headers; the client keeps its side open and sends nothing more
    let stalls = [
        (head(&format!("Content-Length: {}", body.len())), body[..120_000].to_vec()),
        (head("Transfer-Encoding: chunked"), [b"20\r\n".as_slice(), &body[..32], b"\r\n"].concat()),
    ];
    for (head, sent) in stalls {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await?;
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&sent).await?;
        let mut answer = String::new();
        // a deadline for the wait, not a speed claim: the connection ends
        tokio::time::timeout(std::time::Duration::from_secs(20), stream.read_to_string(&mut answer))
            .await
            .map_err(|_| format!("no answer, or the connection stayed open: {answer}"))??;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
        assert!(answer.contains("no bytes arrived for 1 seconds"), "{answer}");
    }
    assert!(files_under(app.files_dir.path()).is_empty(), "{:?}", files_under(app.files_dir.path()));
    let (_, listed) = json(app.get_as("acme", &olga.access, &path).send().await?).await?;
    assert_eq!(listed["count"].as_i64(), Some(0), "{listed}");

    // a pause shorter than the allowance between chunks, 2.8 s in all
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await?;
    stream.write_all(head(&format!("Content-Length: {}\r\nConnection: close", body.len())).as_bytes()).await?;
    for part in body.chunks(body.len() / 7 + 1) {
        stream.write_all(part).await?;
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let (_, listed) = json(app.get_as("acme", &olga.access, &path).send().await?).await?;
    assert_eq!((listed["count"].as_i64(), listed["results"][0]["size"].as_i64()), (Some(1), Some(200_000)), "{listed}");
    Ok(())
}
