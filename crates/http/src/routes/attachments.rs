//! `/api/tasks/{id}/attachments/` and `/api/attachments/{id}/`: uploads
//! streamed into the file store and downloads streamed out of it, a buffer
//! at a time, whatever the file's size.

use std::io::{self, Read};

use actix_web::{
    HttpRequest, HttpResponse,
    http::{
        StatusCode,
        header::{self},
    },
    web::{self, Bytes},
};
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use serde::Serialize;
use taskforce_application::{Action, Attachments};
use taskforce_domain::{Attachment, AttachmentId, TaskId};
use tokio::sync::mpsc;
use utoipa::ToSchema;

mod upload;

use crate::{
    ApiError, AppState, Authenticated, ErrorBody,
    conditional::tagged,
    paging::{PageBody, PageQuery, page_answer},
    query::Query,
};

/// Room for the multipart framing around the file (boundaries, part
/// headers, a few small fields) when judging a declared `Content-Length`.
const MULTIPART_SLACK: u64 = 64 * 1024;
/// Chunks in flight between the connection and the file store, per upload
/// or download; with chunks of at most 64 KiB this bounds the memory of one
/// transfer.
const IN_FLIGHT: usize = 4;
/// Bytes read from the file store per download chunk.
const DOWNLOAD_CHUNK: usize = 64 * 1024;
/// After refusing an upload, at most this much more of it is read and
/// dropped (for at most [`DRAIN_FOR`]) before answering, so that a client
/// still sending reads the `413` instead of a reset connection. Larger
/// bodies are cut off.
const DRAIN_BYTES: u64 = 16 * 1024 * 1024;
/// How long draining may take.
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// An attachment's metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentOut {
    /// Id.
    pub id: i64,
    /// The task.
    pub task_id: i64,
    /// The client's file name made safe (path parts, control characters
    /// and leading dots removed, at most 255 characters).
    pub filename: String,
    /// The type it is served with (`application/octet-stream` when the
    /// upload named none or a malformed one).
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// Who uploaded it.
    pub uploaded_by: i64,
    /// Uploaded.
    #[serde(serialize_with = "crate::time::drf")]
    pub created_at: DateTime<Utc>,
}

fn attachment_out(a: Attachment) -> AttachmentOut {
    AttachmentOut {
        id: a.id.0,
        task_id: a.task_id.0,
        filename: a.filename.as_str().to_owned(),
        content_type: a.content_type.as_str().to_owned(),
        size: a.size,
        uploaded_by: a.uploaded_by.0,
        created_at: a.created_at,
    }
}

fn attachment_etag(a: &Attachment) -> String {
    Attachments::etag(a)
}

/// The multipart upload: one part named `file`.
#[derive(Debug, ToSchema)]
pub struct UploadForm {
    /// The file; its part's `filename` and `Content-Type` are kept
    /// (sanitised). At most `storage.max_upload_bytes`.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A task's attachments, oldest first.
#[utoipa::path(get, path = "/api/tasks/{id}/attachments/", tag = "attachments", params(("id" = i64, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = PageBody<AttachmentOut>), (status = 404, body = ErrorBody)))]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    task: web::Path<i64>,
    query: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.request()?;
    let task = TaskId(task.into_inner());
    let attachments = state.attachments.clone();
    page_answer(
        &req,
        &state.settings.trusted_proxies,
        page,
        move |page| attachments.list(&actor, task, page),
        attachment_out,
    )
    .await
}

/// Reads and drops up to [`DRAIN_BYTES`] of a refused body, for at most
/// [`DRAIN_FOR`]; memory stays flat.
async fn drain<S, E>(body: &mut S)
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut dropped: u64 = 0;
    let _ = tokio::time::timeout(DRAIN_FOR, async {
        while let Some(Ok(chunk)) = body.next().await {
            dropped += chunk.len() as u64;
            if dropped > DRAIN_BYTES {
                break;
            }
        }
    })
    .await;
}

fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

fn too_large(limit: u64) -> ApiError {
    ApiError::payload_too_large(format!("The file is larger than the limit of {limit} bytes."))
}

/// Attaches a file to a task: `multipart/form-data` with the part `file`.
/// A declared length over the limit is refused before anything is read,
/// an undeclared one as soon as the limit is passed; nothing is kept then.
#[utoipa::path(post, path = "/api/tasks/{id}/attachments/", tag = "attachments", params(("id" = i64, Path)), security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = AttachmentOut, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 408, body = ErrorBody, description = "The body brought no byte for `server.upload_idle_secs` (`request_timeout`); nothing was kept."),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    task: web::Path<i64>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // a role that may never upload, before anything about the body
    actor.may_ever(Action::CreateContent)?;
    let task = TaskId(task.into_inner());
    let attachments: Attachments = state.attachments.clone();
    let limit = attachments.max_upload_bytes();
    if let Some(length) = declared_length(&req)
        && length > limit.saturating_add(MULTIPART_SLACK)
    {
        // not a byte is stored; a body barely over is read away first
        if length <= limit.saturating_add(DRAIN_BYTES) {
            drain(&mut payload).await;
        }
        return Err(too_large(limit));
    }
    let (checker, checked_actor) = (attachments.clone(), actor.clone());
    crate::block(move || checker.may_upload(&checked_actor, task)).await??;
    // the upload is read as it comes (a file is stored byte for byte): a
    // compressed one would be stored compressed, or its framing misread
    if let Some(coding) = crate::body::content_coding(&req)? {
        return Err(ApiError::unsupported_media_type(format!(
            "Uploads are not decoded: send the file without a Content-Encoding (this one is {coding})."
        )));
    }
    // the body's type is judged once the task is known, as DRF reads the
    // body only after it has found the object
    let is_multipart = crate::body::content_type(&req)?
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::unsupported_media_type("Uploads must be sent as multipart/form-data."));
    }

    let idle = Some(state.settings.upload_idle_secs)
        .filter(|secs| *secs > 0)
        .map_or(crate::body::UPLOAD_IDLE, std::time::Duration::from_secs);
    let attachment = upload::store_last_file(req.headers(), payload, attachments, actor, task, (limit, idle)).await?;
    Ok(tagged(&req, StatusCode::CREATED, &attachment_etag(&attachment), &attachment_out(attachment)))
}

/// One attachment's metadata; `If-None-Match` with its `ETag` answers `304`.
#[utoipa::path(get, path = "/api/attachments/{id}/", tag = "attachments", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = AttachmentOut, headers(("ETag" = String))), (status = 304), (status = 404, body = ErrorBody)))]
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = AttachmentId(id.into_inner());
    let attachments = state.attachments.clone();
    let attachment = crate::block(move || attachments.get(&actor, id)).await??;
    Ok(tagged(&req, StatusCode::OK, &attachment_etag(&attachment), &attachment_out(attachment)))
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<name>`,
/// the name percent-encoded but for RFC 8187's `attr-char`s (actix's own
/// encoder leaves `=` and `@`, which the grammar does not admit). The
/// stored name holds no control character, so the fallback is a valid
/// quoted string once `\` and `"` are replaced.
fn disposition(name: &str) -> (header::HeaderName, String) {
    let ascii: String = name.chars().map(|c| if c.is_ascii() && c != '\\' && c != '"' { c } else { '_' }).collect();
    let mut value = format!("attachment; filename=\"{ascii}\"");
    if !name.is_ascii() {
        value.push_str("; filename*=UTF-8''");
        for byte in name.bytes() {
            if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
                value.push(char::from(byte));
            } else {
                value.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    (header::CONTENT_DISPOSITION, value)
}

/// Reads the file on a blocking thread, a chunk at a time, as the
/// connection takes them.
fn chunks_of(mut bytes: Box<dyn Read + Send>) -> mpsc::Receiver<io::Result<Bytes>> {
    let (sender, receiver) = mpsc::channel(IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut buffer = vec![0_u8; DOWNLOAD_CHUNK];
        loop {
            let chunk = match bytes.read(&mut buffer) {
                Ok(0) => return,
                Ok(n) => Ok(Bytes::copy_from_slice(&buffer[..n])),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let failed = chunk.is_err();
            // the client went away, or the read failed: stop
            if sender.blocking_send(chunk).is_err() || failed {
                return;
            }
        }
    });
    receiver
}

/// The bytes, as a download: `Content-Disposition: attachment`, the stored
/// type, `X-Content-Type-Options: nosniff` and a sandboxing CSP, so a
/// browser never renders an uploaded file as part of the site.
#[utoipa::path(get, path = "/api/attachments/{id}/download/", tag = "attachments", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, description = "The file's bytes", content_type = "application/octet-stream",
        headers(("Content-Disposition" = String), ("X-Content-Type-Options" = String))), (status = 404, body = ErrorBody)))]
pub async fn download(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = AttachmentId(id.into_inner());
    let attachments = state.attachments.clone();
    let (attachment, bytes) = crate::block(move || attachments.open(&actor, id)).await??;
    let body = futures_util::stream::unfold(chunks_of(bytes), |mut chunks| async move {
        chunks.recv().await.map(|chunk| (chunk, chunks))
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, attachment.content_type.as_str()))
        .insert_header(disposition(attachment.filename.as_str()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(header::ContentEncoding::Identity)
        .no_chunking(attachment.size)
        .streaming(body))
}

/// Deletes an attachment and its bytes (its uploader, an admin or an owner);
/// conditional with `If-Match`.
#[utoipa::path(delete, path = "/api/attachments/{id}/", tag = "attachments", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    // a role that may never delete is refused before the object is looked
    // up, as DRF's view-level permission comes before get_object
    actor.may_ever(Action::DeleteAttachment)?;
    let id = AttachmentId(id.into_inner());
    let attachments = state.attachments.clone();
    let condition = crate::conditional::if_match(&req);
    crate::block(move || attachments.delete(&actor, id, condition.as_ref())).await??;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::disposition;

    #[test]
    fn the_download_s_file_name_is_encoded_as_rfc_8187_wants() {
        let (_, value) = disposition("résumé 2026.pdf");
        assert_eq!(value, "attachment; filename=\"r_sum_ 2026.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202026.pdf");
        let (_, value) = disposition("é=@[]{}\"\\.txt");
        assert_eq!(
            value,
            "attachment; filename=\"_=@[]{}__.txt\"; filename*=UTF-8''%C3%A9%3D%40%5B%5D%7B%7D%22%5C.txt"
        );
        let (_, value) = disposition("plain-name_1.txt");
        assert_eq!(value, "attachment; filename=\"plain-name_1.txt\"");
    }
}
