//! [`LocalFileStore`]: files under a root folder.
//!
//! Layout: `<root>/<schema>/<first two key characters>/<key>`. A file is
//! written to `<root>/<schema>/.partial/<key>` first and renamed into place
//! once complete and synced, so a reader never sees half a file. A process
//! killed mid-upload leaves a partial file; opening the store removes
//! partial files older than an hour (younger ones may be another
//! instance's uploads in progress).

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Read, Write},
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use taskforce_domain::{FileError, FileStore, SchemaName, StorageKey, StoredFile};

use crate::new_key;

/// How much of a file is in memory at once while storing it.
const BUFFER: usize = 64 * 1024;
/// Partial files older than this are leftovers of a killed process.
const STALE_PARTIAL: Duration = Duration::from_secs(3600);

/// Files under a root folder, one subfolder per tenant.
#[derive(Debug, Clone)]
pub struct LocalFileStore {
    root: PathBuf,
}

fn io_error(context: &str, error: &io::Error) -> FileError {
    FileError::Io(format!("{context}: {error}"))
}

/// Creates a folder (and its parents) readable by the owner only.
fn private_dir(path: &Path) -> Result<(), FileError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(|e| io_error(&format!("creating {}", path.display()), &e))
}

impl LocalFileStore {
    /// A store under `root`, created if missing; stale partial files of
    /// interrupted uploads are removed.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, FileError> {
        let root = root.into();
        private_dir(&root)?;
        let store = Self { root };
        let swept = store.sweep_partials(STALE_PARTIAL);
        if swept > 0 {
            tracing::info!(files = swept, root = %store.root.display(), "removed partial files of interrupted uploads");
        }
        Ok(store)
    }

    /// Removes partial files older than `age` in every tenant's area; how many.
    pub fn sweep_partials(&self, age: Duration) -> usize {
        let now = SystemTime::now();
        let areas = fs::read_dir(&self.root).into_iter().flatten().flatten();
        let partials =
            areas.flat_map(|area| fs::read_dir(area.path().join(".partial")).into_iter().flatten().flatten());
        partials
            .filter(|file| {
                file.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|modified| now.duration_since(modified).unwrap_or_default() >= age)
            })
            .filter(|file| fs::remove_file(file.path()).is_ok())
            .count()
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The tenant's folder.
    pub fn area(&self, area: &SchemaName) -> PathBuf {
        self.root.join(area.as_str())
    }

    fn path(&self, area: &SchemaName, key: &StorageKey) -> PathBuf {
        let shard = key.as_str().get(..2).unwrap_or(key.as_str());
        self.area(area).join(shard).join(key.as_str())
    }

    /// Copies at most `limit` bytes of `content` into `file`; the count.
    fn copy_limited(content: &mut dyn Read, file: &mut File, limit: u64) -> Result<u64, FileError> {
        let mut buffer = vec![0_u8; BUFFER];
        let mut written: u64 = 0;
        loop {
            let read = match content.read(&mut buffer) {
                Ok(0) => return Ok(written),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FileError::Interrupted(e.to_string())),
            };
            written += read as u64;
            if written > limit {
                return Err(FileError::TooLarge { limit });
            }
            file.write_all(&buffer[..read]).map_err(|e| io_error("writing", &e))?;
        }
    }
}

impl FileStore for LocalFileStore {
    fn put(&self, area: &SchemaName, content: &mut dyn Read, limit: u64) -> Result<StoredFile, FileError> {
        let key = new_key();
        let partial_dir = self.area(area).join(".partial");
        private_dir(&partial_dir)?;
        let partial = partial_dir.join(key.as_str());
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&partial).map_err(|e| io_error("creating the file", &e))?;
        let copied = Self::copy_limited(content, &mut file, limit)
            .and_then(|size| file.sync_all().map(|()| size).map_err(|e| io_error("syncing", &e)));
        let size = match copied {
            Ok(size) => size,
            Err(error) => {
                drop(file);
                let _ = fs::remove_file(&partial);
                return Err(error);
            }
        };
        let target = self.path(area, &key);
        if let Some(parent) = target.parent() {
            // the key's folder alone, inside the area: an area removed
            // meanwhile (its tenant deleted) is not made again
            let mut builder = fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            match builder.create(parent) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    let _ = fs::remove_file(&partial);
                    return Err(io_error(&format!("creating {}", parent.display()), &e));
                }
            }
        }
        fs::rename(&partial, &target).map_err(|e| {
            let _ = fs::remove_file(&partial);
            io_error("moving the file into place", &e)
        })?;
        Ok(StoredFile { key, size })
    }

    fn open(&self, area: &SchemaName, key: &StorageKey) -> Result<Box<dyn Read + Send>, FileError> {
        match File::open(self.path(area, key)) {
            Ok(file) => Ok(Box::new(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(FileError::NotFound),
            Err(e) => Err(io_error("opening", &e)),
        }
    }

    fn delete(&self, area: &SchemaName, keys: &[StorageKey]) -> Result<(), FileError> {
        for key in keys {
            match fs::remove_file(self.path(area, key)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("deleting", &e)),
            }
        }
        Ok(())
    }

    fn delete_area(&self, area: &SchemaName) -> Result<(), FileError> {
        match fs::remove_dir_all(self.area(area)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("deleting the tenant's files", &e)),
        }
    }

    fn check(&self) -> Result<(), FileError> {
        private_dir(&self.root)?;
        let probe = self.root.join(format!(".probe-{}", new_key()));
        fs::write(&probe, b"ok").map_err(|e| io_error("writing a probe file", &e))?;
        fs::remove_file(&probe).map_err(|e| io_error("removing the probe file", &e))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn schema(name: &str) -> Result<SchemaName, Box<dyn std::error::Error>> {
        Ok(SchemaName::parse(name)?)
    }

    /// Every file under `dir`, relative to it.
    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(next) = pending.pop() {
            for entry in fs::read_dir(&next).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if let Ok(relative) = path.strip_prefix(dir) {
                    found.push(relative.to_path_buf());
                }
            }
        }
        found
    }

    #[test]
    fn stores_reads_back_and_deletes_in_the_tenant_s_area() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = LocalFileStore::new(dir.path().join("files"))?;
        let (acme, beta) = (schema("tenant_acme")?, schema("tenant_beta")?);
        let content: Vec<u8> = (0..200_000_u32).map(|i| (i % 251) as u8).collect();

        let stored = store.put(&acme, &mut Cursor::new(&content), 1 << 20)?;
        let mut back = Vec::new();
        store.open(&acme, &stored.key)?.read_to_end(&mut back)?;

        assert_eq!((stored.size, back.len()), (200_000, 200_000));
        assert!(back == content, "the bytes differ");
        assert_eq!(store.open(&beta, &stored.key).err(), Some(FileError::NotFound), "another tenant's area");
        let on_disk = files(&store.root);
        assert_eq!(on_disk.len(), 1);
        assert!(on_disk[0].starts_with("tenant_acme"), "{on_disk:?}");
        store.delete(&acme, std::slice::from_ref(&stored.key))?;
        store.delete(&acme, std::slice::from_ref(&stored.key))?;
        assert_eq!(store.open(&acme, &stored.key).err(), Some(FileError::NotFound));
        Ok(())
    }

    #[test]
    fn too_large_or_interrupted_content_leaves_nothing() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = LocalFileStore::new(dir.path())?;
        let acme = schema("tenant_acme")?;

        let exact = store.put(&acme, &mut Cursor::new(vec![7_u8; 1000]), 1000)?;
        let too_large = store.put(&acme, &mut Cursor::new(vec![7_u8; 1001]), 1000);
        let mut broken = Cursor::new(vec![1_u8; 10]).chain(FailingReader);
        let interrupted = store.put(&acme, &mut broken, 1000);

        assert_eq!(exact.size, 1000);
        assert_eq!(too_large, Err(FileError::TooLarge { limit: 1000 }));
        assert!(matches!(interrupted, Err(FileError::Interrupted(_))), "{interrupted:?}");
        assert_eq!(files(&store.area(&acme)).len(), 1, "only the complete file remains");
        Ok(())
    }

    #[test]
    fn deleting_an_area_removes_only_that_tenant_s_files() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = LocalFileStore::new(dir.path())?;
        let (acme, beta) = (schema("tenant_acme")?, schema("tenant_beta")?);
        store.put(&acme, &mut Cursor::new(b"a".to_vec()), 10)?;
        let kept = store.put(&beta, &mut Cursor::new(b"b".to_vec()), 10)?;

        store.delete_area(&acme)?;
        store.delete_area(&acme)?;

        assert!(!store.area(&acme).exists());
        assert!(store.open(&beta, &kept.key).is_ok());
        store.check()?;
        Ok(())
    }

    #[test]
    fn partial_files_of_killed_uploads_are_swept() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = LocalFileStore::new(dir.path())?;
        let partial = store.area(&schema("tenant_acme")?).join(".partial");
        fs::create_dir_all(&partial)?;
        fs::write(partial.join("0123"), b"half a file")?;

        let young = store.sweep_partials(Duration::from_secs(3600));
        let old = store.sweep_partials(Duration::ZERO);

        assert_eq!((young, old), (0, 1));
        assert!(!partial.join("0123").exists());
        Ok(())
    }

    struct FailingReader;

    impl Read for FailingReader {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::ConnectionReset, "the client went away"))
        }
    }
}
