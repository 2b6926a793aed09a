//! An upload's multipart body: the parts named `file` streamed to the file
//! store one after another, the last one kept (as Django's
//! `request.FILES["file"]` kept it), and the other parts read and dropped
//! within their allowance. The whole body, preamble and epilogue included,
//! may hold no more than one file's limit and the slack for framing and
//! other fields, however it is split; it is read to its end before the
//! file is kept.

use std::{
    cell::Cell,
    io::{self, Read},
    rc::Rc,
    time::Duration,
};

use actix_multipart::{Field, Multipart};
use actix_web::{
    error::PayloadError,
    http::header::{self, HeaderMap},
    web::{self, Bytes},
};
use futures_util::{Stream, StreamExt as _};
use taskforce_application::{Actor, Attachments, WorkError};
use taskforce_domain::{Attachment, TaskId};
use tokio::sync::mpsc;

use super::{DRAIN_FOR, IN_FLIGHT, MULTIPART_SLACK, too_large};
use crate::ApiError;

/// At most this many parts named `file` in one form (Django's
/// `DATA_UPLOAD_MAX_NUMBER_FILES`).
const MAX_FILE_PARTS: u32 = 100;

fn not_a_file() -> ApiError {
    ApiError::field("file", "The submitted data was not a file. Check the encoding type on the form.")
}

/// Why the parts around the file could not be taken.
enum PartsError {
    /// The multipart framing is broken.
    Unreadable,
    /// The body ended before its end: the client went away, or sent less
    /// than its `Content-Length` said.
    CutShort,
    /// The other parts hold more than the slack.
    FieldsTooLarge,
    /// More parts named `file` than [`MAX_FILE_PARTS`].
    TooManyFiles,
    /// The body passed one file's limit and the slack.
    BodyTooLarge,
    /// The body brought no byte for the idle allowance.
    Stalled(Duration),
}

/// What the body brought so far, shared by the stream the multipart reader
/// takes and the upload that judges it.
#[derive(Default)]
struct BodyState {
    read: Cell<u64>,
    /// It passed its allowance: the reader got an error instead of more.
    over: Cell<bool>,
    /// The connection broke off before the body's end.
    broke_off: Cell<bool>,
    /// No byte came for the idle allowance: the reader got an error.
    stalled: Cell<bool>,
}

/// The request body, counted as the multipart reader takes it, and kept
/// at hand to read what the reader leaves after the form's end.
#[derive(Clone)]
struct Body {
    payload: Rc<tokio::sync::Mutex<web::Payload>>,
    state: Rc<BodyState>,
    allowance: u64,
    /// How long the body may bring no byte.
    idle: Duration,
}

impl Body {
    fn new(payload: web::Payload, limit: u64, idle: Duration) -> Self {
        Self {
            payload: Rc::new(tokio::sync::Mutex::new(payload)),
            state: Rc::default(),
            allowance: limit.saturating_add(MULTIPART_SLACK),
            idle,
        }
    }

    /// The body's next chunk, or an error once it has brought nothing for
    /// the idle allowance.
    async fn next(&self, payload: &mut web::Payload) -> Option<Result<Bytes, PayloadError>> {
        match tokio::time::timeout(self.idle, payload.next()).await {
            Ok(next) => next,
            Err(_) => {
                self.state.stalled.set(true);
                Some(Err(PayloadError::Io(io::ErrorKind::TimedOut.into())))
            }
        }
    }

    /// Counts `chunk` against the allowance.
    fn count(&self, chunk: Result<Bytes, PayloadError>) -> Result<Bytes, PayloadError> {
        let bytes = chunk.inspect_err(|_| {
            if !self.state.stalled.get() {
                self.state.broke_off.set(true);
            }
        })?;
        let read = self.state.read.get().saturating_add(bytes.len() as u64);
        self.state.read.set(read);
        if read > self.allowance {
            self.state.over.set(true);
            return Err(PayloadError::Overflow);
        }
        Ok(bytes)
    }

    /// The stream the multipart reader takes: the body, counted.
    fn stream(&self) -> impl Stream<Item = Result<Bytes, PayloadError>> + 'static {
        // fused: the multipart reader polls again after the end
        futures_util::stream::unfold(self.clone(), |body| async move {
            let next = body.next(&mut *body.payload.lock().await).await?;
            Some((body.count(next), body))
        })
        .fuse()
    }

    /// Reads what follows the form's end (an epilogue), counted, for up to
    /// [`DRAIN_FOR`]: a body is taken whole or not at all.
    async fn rest(&self) -> Result<(), PartsError> {
        let mut payload = self.payload.lock().await;
        let read = tokio::time::timeout(DRAIN_FOR, async {
            while let Some(chunk) = self.next(&mut payload).await {
                self.count(chunk).map_err(|_| self.error())?;
            }
            Ok(())
        });
        // a client that trickles an epilogue on keeps its file
        read.await.unwrap_or(Ok(()))
    }

    /// What a reading error means for this body.
    fn error(&self) -> PartsError {
        if self.state.over.get() {
            PartsError::BodyTooLarge
        } else if self.state.stalled.get() {
            PartsError::Stalled(self.idle)
        } else if self.state.broke_off.get() {
            PartsError::CutShort
        } else {
            // the body arrived whole (as declared) but its framing broke
            PartsError::Unreadable
        }
    }
}

impl PartsError {
    fn answer(self, limit: u64) -> ApiError {
        match self {
            PartsError::Unreadable => not_a_file(),
            PartsError::CutShort => ApiError::field("file", "The upload was interrupted before the file ended."),
            PartsError::FieldsTooLarge => ApiError::field("file", "Fields other than `file` are limited to 64 KiB."),
            PartsError::TooManyFiles => ApiError::field(
                "file",
                format!("Too many files: a form may hold at most {MAX_FILE_PARTS} parts named `file`."),
            ),
            PartsError::BodyTooLarge => too_large(limit),
            PartsError::Stalled(idle) => crate::body::timed_out(format!(
                "The upload stalled: no bytes arrived for {} seconds. Nothing was kept.",
                idle.as_secs()
            )),
        }
    }
}

/// The form as it is read: the multipart reader over the counted body.
struct Form {
    /// Dropped once the form has ended: the reader's stream may still hold
    /// the body (a read it began and no longer needs), which the rest of
    /// the body is then read from.
    multipart: Option<Multipart>,
    body: Body,
    /// Bytes of parts not named `file`.
    other_bytes: u64,
    /// Parts named `file` so far.
    file_parts: u32,
}

impl Form {
    /// The next part named `file`, or `None` at the end of the form; other
    /// parts are read and dropped, up to the slack in all.
    async fn next_file_part(&mut self) -> Result<Option<Field>, PartsError> {
        let Some(multipart) = self.multipart.as_mut() else { return Ok(None) };
        while let Some(part) = multipart.next().await {
            let mut part = part.map_err(|_| self.body.error())?;
            if part.name() == Some("file") {
                self.file_parts += 1;
                if self.file_parts > MAX_FILE_PARTS {
                    return Err(PartsError::TooManyFiles);
                }
                return Ok(Some(part));
            }
            while let Some(chunk) = part.next().await {
                self.other_bytes += chunk.map_err(|_| self.body.error())?.len() as u64;
                if self.other_bytes > MULTIPART_SLACK {
                    return Err(PartsError::FieldsTooLarge);
                }
            }
        }
        Ok(None)
    }
}

/// How a file part's bytes reached the store.
enum Fed {
    /// To its end, and the body holds no other file: the store may keep it.
    Whole,
    /// Another `file` part follows: this one is dropped for it.
    Superseded(Box<Field>),
    /// The store stopped reading (limit passed, failure), or the body broke
    /// off inside the file: the store's answer says why.
    Stopped,
    /// The body is refused: this answer, nothing kept.
    Refused(PartsError),
}

/// The name and type a file part declares.
fn described(part: &Field) -> (String, Option<String>) {
    // `filename*` (RFC 5987: UTF-8, or ISO-8859-1, which every recipient
    // must read) wins over `filename`, as browsers do
    let filename = part
        .content_disposition()
        .and_then(|d| {
            // one it cannot read (another charset, bytes that are no UTF-8)
            // is passed over for `filename`, as browsers do
            d.get_filename_ext()
                .and_then(|ext| match &ext.charset {
                    header::Charset::Iso_8859_1 => Some(ext.value.iter().copied().map(char::from).collect()),
                    header::Charset::Us_Ascii => String::from_utf8(ext.value.clone()).ok(),
                    header::Charset::Ext(name) if name.eq_ignore_ascii_case("utf-8") => {
                        String::from_utf8(ext.value.clone()).ok()
                    }
                    _ => None,
                })
                // an empty one names nothing: `filename` does
                .filter(|name: &String| !name.is_empty())
                .or_else(|| raw_filename(part).or_else(|| d.get_filename().map(str::to_owned)))
        })
        .unwrap_or_default();
    (filename, part.content_type().map(ToString::to_string))
}

/// Sends a file part's bytes to the store, then reads the rest of the body
/// before the store may see the file's end.
async fn feed(mut part: Field, form: &mut Form, sender: mpsc::Sender<io::Result<Bytes>>) -> Fed {
    while let Some(chunk) = part.next().await {
        // a body that ends before the file does (the client went away,
        // broken framing, past its allowance) reaches the store as an
        // error, so that it keeps nothing: the end of the stream would
        // read as a whole file
        let chunk = chunk.map_err(|e| io::Error::new(io::ErrorKind::UnexpectedEof, e.to_string()));
        let failed = chunk.is_err();
        // the store stopped reading (limit passed, failure): what follows
        // is read away by the handler, so the client gets to read the answer
        if sender.send(chunk).await.is_err() || failed {
            return Fed::Stopped;
        }
    }
    // the multipart reads no further while a field of it is alive
    drop(part);
    let outcome = match form.next_file_part().await {
        // the end of the form, or multipart framing that breaks after a
        // whole file in a body that arrived whole (the file stands, as
        // Django's parser keeps what it has read): the body is read to its
        // end before the file is kept, once the reader has let go of it
        Ok(None) | Err(PartsError::Unreadable) => {
            form.multipart = None;
            match form.body.rest().await {
                Ok(()) => return Fed::Whole,
                Err(refused) => Fed::Refused(refused),
            }
        }
        Ok(Some(next)) => Fed::Superseded(Box::new(next)),
        // the body broke off, or holds too much: refused, whatever of the
        // file had arrived
        Err(refused) => Fed::Refused(refused),
    };
    // the store keeps nothing of a file that ends in an error
    let _ = sender.send(Err(io::Error::other("the file is not the one kept"))).await;
    outcome
}

/// A [`Read`] over chunks sent from the connection's task: the file store
/// reads it on a blocking thread while the connection keeps filling it.
struct Incoming {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for Incoming {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Streams the form's `file` parts to the store one after another and
/// keeps the last: the attachment made of it. Each earlier one is dropped
/// (nothing of it stays) when the next begins. A body past its allowance
/// is `413` however far its reading got.
pub(super) async fn store_last_file(
    headers: &HeaderMap,
    payload: web::Payload,
    attachments: Attachments,
    actor: Actor,
    task: TaskId,
    (limit, idle): (u64, Duration),
) -> Result<Attachment, ApiError> {
    let body = Body::new(payload, limit, idle);
    let state = body.state.clone();
    let multipart = Multipart::new(headers, body.stream());
    let mut form = Form { multipart: Some(multipart), body, other_bytes: 0, file_parts: 0 };
    let stored = store_in_turn(&mut form, attachments, actor, task).await;
    // the reader lets go of the body first
    form.multipart = None;
    if state.stalled.get() {
        // nothing is waited for from a client that sends nothing: the
        // connection is closed once the answer has gone
        crate::body::hold_unread(form.body.payload);
        return Err(PartsError::Stalled(idle).answer(limit));
    }
    // what a refusal left of the body is read away (up to the drain's
    // bound) before the answer, so that a client still sending reads it
    super::drain(&mut *form.body.payload.lock().await).await;
    if state.over.get() {
        return Err(too_large(limit));
    }
    stored.map_err(|error| match error {
        Stored::Refused(refused) => refused.answer(limit),
        Stored::Failed(error) => error,
    })
}

/// Why no attachment was made.
enum Stored {
    /// The body was refused.
    Refused(PartsError),
    /// The store or the use case said no.
    Failed(ApiError),
}

async fn store_in_turn(
    form: &mut Form,
    attachments: Attachments,
    actor: Actor,
    task: TaskId,
) -> Result<Attachment, Stored> {
    let mut part = form
        .next_file_part()
        .await
        .map_err(Stored::Refused)?
        .ok_or_else(|| Stored::Failed(ApiError::field("file", "No file was submitted.")))?;
    loop {
        let (filename, content_type) = described(&part);
        let (sender, receiver) = mpsc::channel::<io::Result<Bytes>>(IN_FLIGHT);
        let (attachments, actor) = (attachments.clone(), actor.clone());
        let store = crate::block(move || {
            let mut incoming = Incoming { chunks: receiver, current: Bytes::new() };
            attachments.upload(&actor, task, &filename, content_type.as_deref(), &mut incoming)
        });
        let (stored, fed) = tokio::join!(store, feed(part, form, sender));
        part = match fed {
            Fed::Superseded(next) => *next,
            Fed::Refused(refused) => return Err(Stored::Refused(refused)),
            Fed::Whole | Fed::Stopped => {
                let stored = stored.map_err(|error| Stored::Failed(error.into()))?;
                return stored.map_err(|error| {
                    Stored::Failed(match error {
                        WorkError::FileTooLarge { limit } => too_large(limit),
                        other => other.into(),
                    })
                });
            }
        };
    }
}

/// The `filename` of a part as Django reads it: in quotes, only `\\` and
/// `\"` are escapes, so a Windows path sent whole (`"C:\Users\me\r.pdf"`,
/// as old browsers and `curl -F` send it) keeps the backslashes that naming
/// cuts at; actix's reading drops every backslash as an escape
/// (`CUsersmer.pdf`). Parameters are split at `;` outside quotes.
fn raw_filename(part: &actix_multipart::Field) -> Option<String> {
    let raw = std::str::from_utf8(part.headers().get(header::CONTENT_DISPOSITION)?.as_bytes()).ok()?;
    filename_parameter(raw)
}

fn filename_parameter(disposition: &str) -> Option<String> {
    let mut params = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in disposition.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                params.push(&disposition[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    params.push(&disposition[start..]);
    // a name given twice: the last one, as Django's dictionary keeps it
    params.into_iter().skip(1).rev().find_map(|param| {
        let (key, value) = param.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("filename") {
            return None;
        }
        let value = value.trim();
        Some(match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(inner) => inner.replace("\\\\", "\\").replace("\\\"", "\""),
            None => value.to_owned(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::filename_parameter;

    #[test]
    fn a_quoted_file_name_keeps_its_backslashes_as_django_reads_it() {
        let cases = [
            (r#"form-data; name="file"; filename="C:\Users\me\report.pdf""#, Some(r"C:\Users\me\report.pdf")),
            (r#"form-data; name="file"; filename="a\\b\"c.txt""#, Some(r#"a\b"c.txt"#)),
            (r#"form-data; name="file"; filename="semi;colon.txt"; x=1"#, Some("semi;colon.txt")),
            (r#"form-data; name="file"; filename="quote\";inside.txt""#, Some(r#"quote";inside.txt"#)),
            ("form-data; name=file; FILENAME=plain.txt", Some("plain.txt")),
            (r#"form-data; name="filename=x"; filename="y.txt""#, Some("y.txt")),
            (r#"form-data; name="file"; filename="first.txt"; filename="second.txt""#, Some("second.txt")),
            ("form-data; name=\"file\"", None),
            ("form-data; name=\"file\"; filename*=UTF-8''x.txt", None),
        ];
        for (disposition, name) in cases {
            assert_eq!(filename_parameter(disposition).as_deref(), name, "{disposition}");
        }
    }
}
