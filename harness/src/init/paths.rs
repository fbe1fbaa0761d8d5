//! Paths as a scaffold writes them: relative from one directory to another, quoted for TOML and
//! YAML.
use std::path::{Component, Path, PathBuf};

/// `to` relative to `from` (both absolute and canonical), e.g. `../monitoring/rules.yaml`.
pub(super) fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to_parts: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for part in &to_parts[common..] {
        path.push(part.as_os_str());
    }
    if path.as_os_str().is_empty() {
        path.push(".");
    }
    path
}

/// A double-quoted string, valid in TOML (a basic string) and in YAML: JSON's escaping is a
/// subset of both.
pub(super) fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// `path` canonical when it exists, else made absolute from the current directory.
pub(super) fn absolute(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| std::env::current_dir().unwrap_or_default().join(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("/a/b/drills", "/a/b/monitoring/rules.yaml", "../monitoring/rules.yaml")]
    #[test_case("/a/b/drills", "/a/b/drills/rules.yaml", "rules.yaml")]
    #[test_case("/a/b", "/x/harness", "../../x/harness")]
    #[test_case("/a/b", "/a/b", ".")]
    fn relative_paths(from: &str, to: &str, expected: &str) {
        assert_eq!(relative(Path::new(from), Path::new(to)), PathBuf::from(expected));
    }

    #[test]
    fn quoting_escapes_quotes_and_backslashes() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
