//! The audit log of an attached run: every action pgdrill takes on a cluster it did not start
//! (each command, each Patroni REST call, each refusal), one JSON object per line, written as it
//! happens so a run that is killed still leaves what it did.
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::Serialize;

/// The file actions are appended to (cheap to clone: clones share the file).
#[derive(Debug, Clone)]
pub struct ActionLog {
    path: PathBuf,
    file: Arc<Mutex<Option<std::fs::File>>>,
}

/// One line of the log.
#[derive(Debug, Clone, Serialize)]
pub struct ActionRecord<'a> {
    /// RFC 3339 with milliseconds, UTC.
    pub time: String,
    /// What was done (`kill`, `state`, `POST /switchover`, `stop-condition`, …).
    pub action: &'a str,
    /// The member (or `cluster`).
    pub target: &'a str,
    /// The command as run (passwords are never part of it).
    pub command: &'a str,
    /// `ok`, `exit N: output`, `refused: why`, `dry-run`.
    pub result: &'a str,
}

impl ActionLog {
    /// A log at `path` (its folder is created; the file is appended to).
    pub fn create(path: &Path) -> std::io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self { path: path.to_path_buf(), file: Arc::new(Mutex::new(Some(file))) })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one action. A write that fails is reported on stderr once and the log closed: the
    /// drill is not stopped for it, but nobody may believe a log that has gaps.
    pub fn record(&self, action: &str, target: &str, command: &str, result: &str) {
        let time = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let line = ActionRecord { time, action, target, command, result: &clip(result) };
        let mut text = serde_json::to_string(&line).expect("an action record serialises");
        text.push('\n');
        let mut file = self.file.lock().expect("action log lock");
        if let Some(f) = file.as_mut() {
            if let Err(e) = f.write_all(text.as_bytes()) {
                eprintln!("warning: failed to write the audit log {}: {e}; it is incomplete", self.path.display());
                *file = None;
            }
        }
    }
}

/// Results are command outputs: keep a line short enough to read.
fn clip(text: &str) -> String {
    const MAX: usize = 500;
    let text = text.trim();
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::ActionLog;

    #[test]
    fn every_action_is_one_json_line() {
        let dir = std::env::temp_dir().join(format!("pgdrill-action-log-{}", std::process::id()));
        let log = ActionLog::create(&dir.join("audit.jsonl")).unwrap();
        log.record("kill", "pg-1", "docker kill pg-1", "ok");
        log.record("state", "pg-1", "docker inspect pg-1", &"x".repeat(2000));
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["action"], "kill");
        assert_eq!(lines[0]["target"], "pg-1");
        assert_eq!(lines[0]["command"], "docker kill pg-1");
        assert_eq!(lines[0]["result"], "ok");
        assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
        assert!(lines[1]["result"].as_str().unwrap().len() < 600);
        let _ = std::fs::remove_dir_all(dir);
    }
}
