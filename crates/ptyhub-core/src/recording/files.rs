//! The recordings directory: file names (`YYYYMMDDTHHMMSSZ-ID.cast`), the
//! default place, and reading back what is there (also the recordings of
//! sessions long forgotten). Blocking file I/O: call from a blocking
//! thread.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

/// The longest header line read back.
const MAX_HEADER: u64 = 64 << 10;

/// `YYYYMMDDTHHMMSSZ-ID.cast`: the session's creation time in UTC and its
/// id.
pub fn file_name(created: OffsetDateTime, id: Uuid) -> String {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = created
        .to_offset(time::UtcOffset::UTC)
        .format(fmt)
        .unwrap_or_default();
    format!("{stamp}-{id}.cast")
}

/// The default recordings directory: `$XDG_STATE_HOME/ptyhub/recordings`,
/// else `~/.local/state/ptyhub/recordings` (`env` reads a variable).
pub fn default_dir(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    let state = env("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    state.join("ptyhub").join("recordings")
}

/// A recording's id from a request: a session id (a UUID), in its
/// hyphenated lower-case form; `None` for anything else (so no id can name
/// a path outside the directory).
pub fn parse_id(text: &str) -> Option<Uuid> {
    let id = Uuid::parse_str(text).ok()?;
    (id.hyphenated().to_string() == text).then_some(id)
}

/// The session id in a recording's file name.
fn id_of(name: &str) -> Option<Uuid> {
    let stem = name.strip_suffix(".cast")?;
    let (stamp, id) = stem.split_once('-')?;
    (stamp.len() == 16 && stamp.ends_with('Z'))
        .then(|| parse_id(id))
        .flatten()
}

/// One file in the recordings directory.
#[derive(Clone, Debug)]
pub struct RecordingFile {
    /// The recorded session's id.
    pub id: Uuid,
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// When it was last written.
    pub modified: SystemTime,
    /// Its header line, when it parses.
    pub header: Option<serde_json::Value>,
}

impl RecordingFile {
    /// The header's `width` and `height`.
    pub fn size(&self) -> (u16, u16) {
        let n = |k: &str| {
            self.header
                .as_ref()
                .and_then(|h| h[k].as_u64())
                .and_then(|v| u16::try_from(v).ok())
                .unwrap_or(0)
        };
        (n("width"), n("height"))
    }

    /// The header's `timestamp` (seconds since the epoch).
    pub fn started(&self) -> Option<OffsetDateTime> {
        let ts = self.header.as_ref()?["timestamp"].as_i64()?;
        OffsetDateTime::from_unix_timestamp(ts).ok()
    }

    /// When the session started (the header's `timestamp`, else the last
    /// write), RFC 3339 in UTC.
    pub fn started_at(&self) -> String {
        rfc3339(self.started().unwrap_or_else(|| self.modified.into()))
    }

    /// When it was last written, RFC 3339 in UTC.
    pub fn modified_at(&self) -> String {
        rfc3339(self.modified.into())
    }

    /// A string the header keeps under `ptyhub` (`name`, `provider`).
    pub fn meta(&self, key: &str) -> Option<String> {
        self.header.as_ref()?["ptyhub"][key]
            .as_str()
            .map(str::to_owned)
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn read_header(path: &Path) -> Option<serde_json::Value> {
    let file = std::fs::File::open(path).ok()?;
    let mut line = String::new();
    BufReader::new(file.take(MAX_HEADER))
        .read_line(&mut line)
        .ok()?;
    serde_json::from_str(&line).ok()
}

fn entry(path: PathBuf, id: Uuid) -> Option<RecordingFile> {
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() {
        return None;
    }
    Some(RecordingFile {
        id,
        header: read_header(&path),
        bytes: meta.len(),
        modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        path,
    })
}

/// Every recording in `dir`, newest first; none when it does not exist.
pub fn list(dir: &Path) -> std::io::Result<Vec<RecordingFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out: Vec<RecordingFile> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            let id = id_of(name.to_str()?)?;
            entry(e.path(), id)
        })
        .collect();
    out.sort_by(|a, b| b.path.file_name().cmp(&a.path.file_name()));
    Ok(out)
}

/// The recording of session `id` in `dir`, if there is one.
pub fn find(dir: &Path, id: Uuid) -> std::io::Result<Option<RecordingFile>> {
    Ok(list(dir)?.into_iter().find(|r| r.id == id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_time_and_the_id() {
        let id = Uuid::parse_str("0b6f5a52-8f7e-4c59-9d59-3e3f3a1e2b7c").unwrap();
        let t = OffsetDateTime::from_unix_timestamp(1_765_086_300).unwrap();
        let name = file_name(t, id);
        assert_eq!(name, format!("20251207T054500Z-{id}.cast"));
        assert_eq!(id_of(&name), Some(id));
        assert_eq!(id_of("x.cast"), None);
    }

    #[test]
    fn ids_are_uuids_only() {
        assert!(parse_id("0b6f5a52-8f7e-4c59-9d59-3e3f3a1e2b7c").is_some());
        for bad in [
            "..",
            "../etc/passwd",
            "0b6f5a52",
            "",
            "0B6F5A52-8F7E-4C59-9D59-3E3F3A1E2B7C",
        ] {
            assert!(parse_id(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_default_dir_follows_xdg() {
        let env = |k: &str| match k {
            "XDG_STATE_HOME" => Some("/s".to_owned()),
            "HOME" => Some("/h".to_owned()),
            _ => None,
        };
        assert_eq!(default_dir(&env), Path::new("/s/ptyhub/recordings"));
        let env = |k: &str| (k == "HOME").then(|| "/h".to_owned());
        assert_eq!(
            default_dir(&env),
            Path::new("/h/.local/state/ptyhub/recordings")
        );
    }
}
