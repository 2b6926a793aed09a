//! [`ObjectFileStore`]: files in an S3-compatible bucket through
//! `object_store`.
//!
//! Layout: `<prefix>/<schema>/<key>`. Uploads are multipart uploads fed a
//! buffer at a time (parts of 5 MiB, two in flight), so memory stays
//! bounded whatever the file's size; an upload that fails or passes the
//! limit is aborted and leaves nothing.
//!
//! The port is synchronous; this adapter runs its requests on a small
//! runtime of its own, like the Redis adapter, so callers need none.

use std::{
    io::{self, Read},
    str::FromStr,
    sync::Arc,
};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{
    ObjectStore, ObjectStoreExt, WriteMultipart,
    aws::{AmazonS3Builder, AmazonS3ConfigKey},
    path::Path,
};
use taskforce_domain::{FileError, FileStore, SchemaName, StorageKey, StoredFile};
use tokio::runtime::Runtime;

use crate::new_key;

/// Size of each uploaded part (S3's minimum, except for the last part).
const PART: usize = 5 * 1024 * 1024;
/// Parts uploaded at once per file.
const PARTS_IN_FLIGHT: usize = 2;
/// Bytes read from the client per step.
const BUFFER: usize = 64 * 1024;

/// Files in an S3-compatible bucket, one prefix per tenant.
#[derive(Clone)]
pub struct ObjectFileStore {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    runtime: Arc<OwnRuntime>,
}

/// The adapter's runtime, shut down without waiting when the last user
/// goes (which may be inside another runtime, where waiting is not allowed).
struct OwnRuntime(Option<Runtime>);

impl std::ops::Deref for OwnRuntime {
    type Target = Runtime;

    fn deref(&self) -> &Runtime {
        self.0.as_ref().unwrap_or_else(|| unreachable!("taken only when dropped"))
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for ObjectFileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectFileStore").field("store", &self.store.to_string()).field("prefix", &self.prefix).finish()
    }
}

fn store_error(error: object_store::Error) -> FileError {
    match error {
        object_store::Error::NotFound { .. } => FileError::NotFound,
        other => FileError::Io(other.to_string()),
    }
}

impl ObjectFileStore {
    /// A store for `s3://<bucket>[/<prefix>][?<option>=<value>&…]`.
    /// Options are `object_store`'s S3 keys (`endpoint`, `region`,
    /// `access_key_id`, `secret_access_key`, `virtual_hosted_style_request`,
    /// …) and `allow_http`; the `AWS_*` environment variables fill in the
    /// rest. An `http://` endpoint allows plain HTTP.
    pub fn from_url(url: &str) -> Result<Self, FileError> {
        let invalid = |why: String| FileError::Io(format!("storage.url: {why}"));
        let (location, query) = url.split_once('?').unwrap_or((url, ""));
        let rest =
            location.strip_prefix("s3://").ok_or_else(|| invalid("expected s3://bucket[/prefix][?options]".into()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("the bucket is missing".into()));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, "true"));
            if key == "allow_http" {
                builder = builder.with_allow_http(value == "true");
                continue;
            }
            let config = AmazonS3ConfigKey::from_str(key).map_err(|_| invalid(format!("unknown option {key:?}")))?;
            if config == AmazonS3ConfigKey::Endpoint && value.starts_with("http://") {
                builder = builder.with_allow_http(true);
            }
            builder = builder.with_config(config, value);
        }
        // reqwest's rustls needs a process-wide provider; another may be set already
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = builder.build().map_err(|e| invalid(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("file-store")
            .enable_all()
            .build()
            .map_err(|e| FileError::Io(format!("starting the file store's runtime: {e}")))?;
        Ok(Self {
            store: Arc::new(store),
            prefix: prefix.trim_matches('/').to_owned(),
            runtime: Arc::new(OwnRuntime(Some(runtime))),
        })
    }

    fn area_path(&self, area: &SchemaName) -> Result<Path, FileError> {
        let joined =
            if self.prefix.is_empty() { area.as_str().to_owned() } else { format!("{}/{}", self.prefix, area) };
        Path::parse(joined).map_err(|e| FileError::Io(e.to_string()))
    }

    fn path(&self, area: &SchemaName, key: &StorageKey) -> Result<Path, FileError> {
        Ok(self.area_path(area)?.join(key.as_str()))
    }

    /// Feeds `content` into a multipart upload; the size on success.
    fn upload(&self, path: &Path, content: &mut dyn Read, limit: u64) -> Result<u64, FileError> {
        // parts are spawned onto the adapter's runtime as they fill up
        let _entered = self.runtime.enter();
        let upload = self.runtime.block_on(self.store.put_multipart(path)).map_err(store_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut buffer = vec![0_u8; BUFFER];
        let mut size: u64 = 0;
        let outcome = loop {
            let read = match content.read(&mut buffer) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(FileError::Interrupted(e.to_string())),
            };
            size += read as u64;
            if size > limit {
                break Err(FileError::TooLarge { limit });
            }
            if let Err(error) = self.runtime.block_on(writer.wait_for_capacity(PARTS_IN_FLIGHT)) {
                break Err(store_error(error));
            }
            writer.write(&buffer[..read]);
        };
        match outcome {
            Ok(()) => self.runtime.block_on(writer.finish()).map(|_| size).map_err(store_error),
            Err(error) => {
                let _ = self.runtime.block_on(writer.abort());
                Err(error)
            }
        }
    }
}

/// Bytes of an object, pulled from its stream a chunk at a time.
struct ObjectReader {
    chunks: BoxStream<'static, object_store::Result<Bytes>>,
    current: Bytes,
    runtime: Arc<OwnRuntime>,
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.runtime.block_on(self.chunks.next()) {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(error)) => return Err(io::Error::other(error.to_string())),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

impl FileStore for ObjectFileStore {
    fn put(&self, area: &SchemaName, content: &mut dyn Read, limit: u64) -> Result<StoredFile, FileError> {
        let key = new_key();
        let size = self.upload(&self.path(area, &key)?, content, limit)?;
        Ok(StoredFile { key, size })
    }

    fn open(&self, area: &SchemaName, key: &StorageKey) -> Result<Box<dyn Read + Send>, FileError> {
        let found = self.runtime.block_on(self.store.get(&self.path(area, key)?)).map_err(store_error)?;
        Ok(Box::new(ObjectReader { chunks: found.into_stream(), current: Bytes::new(), runtime: self.runtime.clone() }))
    }

    fn delete(&self, area: &SchemaName, keys: &[StorageKey]) -> Result<(), FileError> {
        for key in keys {
            match self.runtime.block_on(self.store.delete(&self.path(area, key)?)) {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(store_error(error)),
            }
        }
        Ok(())
    }

    fn delete_area(&self, area: &SchemaName) -> Result<(), FileError> {
        let prefix = self.area_path(area)?;
        let store = self.store.clone();
        self.runtime.block_on(async move {
            let listed = store.list(Some(&prefix)).map_ok(|meta| meta.location).boxed();
            store.delete_stream(listed).try_collect::<Vec<_>>().await.map(|_| ()).map_err(store_error)
        })
    }

    fn check(&self) -> Result<(), FileError> {
        let probe = Path::parse(format!("{}/.probe-{}", self.prefix, new_key()).trim_start_matches('/'))
            .map_err(|e| FileError::Io(e.to_string()))?;
        self.runtime.block_on(async {
            self.store.put(&probe, Bytes::from_static(b"ok").into()).await.map_err(store_error)?;
            self.store.delete(&probe).await.map_err(store_error)
        })
    }
}
