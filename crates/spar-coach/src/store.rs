//! The session store: one JSON document per session in the data folder, written atomically
//! (temporary file, fsync, rename, fsync of the folder) after every turn. A reader never sees a
//! half-written file; a file that does not parse is moved to `quarantine/` with a note instead
//! of breaking the history.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use spar_core::session::{Session, upgrade};

use crate::{Error, Result};

/// The data folder: `SPAR_DATA_DIR`, else `$XDG_DATA_HOME/spar`.
pub fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SPAR_DATA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("spar")
}

/// A session file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    pub file: PathBuf,
    pub moved_to: PathBuf,
    pub reason: String,
}

/// Sessions on disk.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// A store in `root/sessions` (created on first write).
    pub fn new(root: &Path) -> Self {
        Self {
            dir: root.join("sessions"),
        }
    }

    pub fn open_default() -> Self {
        Self::new(&data_dir())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Writes `session` atomically.
    pub fn save(&self, session: &Session) -> Result<()> {
        if !is_safe_id(&session.id) {
            return Err(Error::Store(format!("invalid session id `{}`", session.id)));
        }
        let bytes = serde_json::to_vec_pretty(session).map_err(|e| Error::Store(e.to_string()))?;
        write_atomic(&self.dir, &self.path(&session.id), &bytes)
    }

    /// Loads one session by id.
    pub fn load(&self, id: &str) -> Result<Session> {
        if !is_safe_id(id) {
            return Err(Error::Store(format!("invalid session id `{id}`")));
        }
        let path = self.path(id);
        let bytes = fs::read(&path).map_err(|e| Error::Io {
            path: path.clone(),
            err: e,
        })?;
        parse(&bytes).map_err(|reason| Error::Store(format!("{}: {reason}", path.display())))
    }

    /// Every readable session, newest first, plus the files that were quarantined.
    pub fn list(&self) -> Result<(Vec<Session>, Vec<Quarantined>)> {
        let mut sessions = Vec::new();
        let mut bad = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((sessions, bad)),
            Err(e) => {
                return Err(Error::Io {
                    path: self.dir.clone(),
                    err: e,
                });
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') {
                // A temporary file left by a crash mid-write: the previous version is intact.
                if name.contains(".tmp-") {
                    let _ = fs::remove_file(&path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let parsed = fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| parse(&b));
            match parsed {
                Ok(s) => sessions.push(s),
                Err(reason) => bad.push(self.quarantine(&path, &reason)?),
            }
        }
        sessions.sort_by(|a, b| b.updated_ms.cmp(&a.updated_ms).then(b.id.cmp(&a.id)));
        Ok((sessions, bad))
    }

    /// The most recent session that is not complete, if any.
    pub fn unfinished(&self) -> Result<Option<Session>> {
        Ok(self
            .list()?
            .0
            .into_iter()
            .find(|s| !s.is_complete() && !s.items.is_empty()))
    }

    fn quarantine(&self, path: &Path, reason: &str) -> Result<Quarantined> {
        let qdir = self.dir.join("quarantine");
        fs::create_dir_all(&qdir).map_err(|e| Error::Io {
            path: qdir.clone(),
            err: e,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let moved_to = qdir.join(&name);
        fs::rename(path, &moved_to).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            err: e,
        })?;
        let note = qdir.join(format!("{name}.reason.txt"));
        let _ = fs::write(&note, format!("{reason}\n"));
        Ok(Quarantined {
            file: path.to_path_buf(),
            moved_to,
            reason: reason.to_string(),
        })
    }

    pub fn delete(&self, id: &str) -> Result<()> {
        let p = self.path(id);
        fs::remove_file(&p).map_err(|e| Error::Io { path: p, err: e })
    }
}

fn parse(bytes: &[u8]) -> std::result::Result<Session, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    upgrade(v)
}

fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() < 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Temporary file, write, fsync, rename over the target, fsync the directory.
pub fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        err: e,
    })?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |e: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        err: e,
    };
    let result = (|| -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

/// A new session id from a timestamp and a counter: sortable and unique within a process.
pub fn new_session_id(now_ms: u64) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("s{now_ms}-{}-{n}", std::process::id())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spar_core::session::Settings;
    use spar_core::track::Track;

    #[test]
    fn save_list_and_quarantine() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let s = Session::new("s1".into(), Track::default(), Settings::default(), 5);
        store.save(&s).unwrap();
        assert_eq!(store.load("s1").unwrap(), s);
        fs::write(store.dir().join("broken.json"), b"{\"schema\": 2, \"id\": ").unwrap();
        fs::write(store.dir().join(".s1.json.tmp-999"), b"half").unwrap();
        let (sessions, bad) = store.list().unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].moved_to.exists());
        assert!(bad[0].reason.contains("JSON"));
        assert!(
            !store.dir().join(".s1.json.tmp-999").exists(),
            "stale temp files are cleaned"
        );
        // The history keeps working after quarantine.
        assert_eq!(store.list().unwrap().1.len(), 0);
    }

    #[test]
    fn ids_cannot_escape_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(store.load("../etc/passwd").is_err());
        let s = Session::new("../x".into(), Track::default(), Settings::default(), 5);
        assert!(store.save(&s).is_err());
    }
}
