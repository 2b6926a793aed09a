//! Finding `initdb`, `pg_ctl` and `postgres`.

use std::path::{Path, PathBuf};

use crate::ClusterError;

/// The folder holding PostgreSQL's server binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    dir: PathBuf,
}

impl PgBinaries {
    /// Looks on `PATH` first, then under `/usr/lib/postgresql/<version>/bin`
    /// (newest version first), then the usual Homebrew and source-install
    /// prefixes. A folder counts only if it holds `initdb`, `pg_ctl` and
    /// `postgres`.
    pub fn locate() -> Result<Self, ClusterError> {
        let from_path =
            std::env::var_os("PATH").map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>()).unwrap_or_default();
        let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path().join("bin")).collect())
            .unwrap_or_default();
        debian.sort_by_key(|dir| std::cmp::Reverse(major_version(dir)));
        let others = ["/usr/local/pgsql/bin", "/opt/homebrew/bin", "/usr/local/bin"].map(PathBuf::from);
        from_path
            .into_iter()
            .chain(debian)
            .chain(others)
            .find_map(|dir| Self::in_dir(&dir))
            .ok_or(ClusterError::BinariesNotFound)
    }

    /// The binaries in one folder, if all three are there.
    pub fn in_dir(dir: &Path) -> Option<Self> {
        let complete = ["initdb", "pg_ctl", "postgres"].iter().all(|bin| dir.join(bin).is_file());
        complete.then(|| Self { dir: std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()) })
    }

    /// The full path of one binary.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn major_version(bin_dir: &Path) -> u32 {
    bin_dir
        .parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .and_then(|name| name.split('.').next())
        .and_then(|major| major.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_missing_a_binary_does_not_count() -> Result<(), std::io::Error> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("initdb"), "")?;
        std::fs::write(dir.path().join("pg_ctl"), "")?;
        assert_eq!(PgBinaries::in_dir(dir.path()), None);
        std::fs::write(dir.path().join("postgres"), "")?;
        assert!(PgBinaries::in_dir(dir.path()).is_some());
        Ok(())
    }

    #[test]
    fn versions_sort_numerically() {
        assert_eq!(major_version(Path::new("/usr/lib/postgresql/15/bin")), 15);
        assert_eq!(major_version(Path::new("/usr/lib/postgresql/9.6/bin")), 9);
        assert_eq!(major_version(Path::new("/x/bin")), 0);
    }
}
