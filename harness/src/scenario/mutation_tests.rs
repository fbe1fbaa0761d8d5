//! Thousands of mutants of the shipped scenarios (lines deleted or swapped, scalars retyped,
//! keys misspelt), seeded and so the same every run, thrown at loading and rendering: none may
//! panic or take long, and none with a misspelt key may load (a typo must never silently drop a
//! part of a drill).
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use super::parse_scenario;
use super::source::SpanIndex;

/// Mutants per shipped file and kind of mutation.
const PER_FILE_AND_KIND: usize = 30;
/// No mutant may take longer to load and render (a debug build on a shared machine).
const BOUND: Duration = Duration::from_secs(10);
/// Values a scalar is retyped to: other types, quoted numbers, absurd and non-finite values.
const RETYPED: [&str; 14] =
    ["x", "-1", "\"3\"", "'true'", "true", "99999999999h", "[]", "{}", "0", ".nan", "~", "\"\"", "1e999", "a/b"];

/// splitmix64: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    DeleteLine,
    SwapLines,
    RetypeScalar,
    RenameKey,
}

struct Mutant {
    file: PathBuf,
    kind: Kind,
    what: String,
    text: String,
}

fn shipped() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut files: Vec<PathBuf> = [root.clone(), root.join("chaos")]
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).expect("scenarios/ exists").flatten().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files.into_iter().map(|path| (path.clone(), std::fs::read_to_string(&path).expect("readable"))).collect()
}

/// Replaces `len` bytes at `offset`.
fn splice(text: &str, offset: usize, len: usize, with: &str) -> String {
    format!("{}{with}{}", &text[..offset], &text[offset + len..])
}

fn mutate(file: &Path, text: &str, index: &SpanIndex, kind: Kind, rng: &mut Rng) -> Option<Mutant> {
    let lines: Vec<&str> = text.lines().collect();
    let (what, text) = match kind {
        Kind::DeleteLine => {
            let i = rng.below(lines.len());
            let mut kept = lines.clone();
            kept.remove(i);
            (format!("line {} deleted", i + 1), kept.join("\n"))
        }
        Kind::SwapLines => {
            let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
            let mut swapped = lines.clone();
            swapped.swap(i, j);
            (format!("lines {} and {} swapped", i + 1, j + 1), swapped.join("\n"))
        }
        Kind::RetypeScalar => {
            let scalars: Vec<_> = index.entries().iter().filter(|e| e.scalar.is_some()).collect();
            let entry = scalars[rng.below(scalars.len())];
            let span = entry.value.span();
            let (offset, len) = (span.byte_offset()? as usize, span.byte_len()? as usize);
            let to = RETYPED[rng.below(RETYPED.len())];
            (format!("`{}` retyped to {to}", entry.path), splice(text, offset, len, to))
        }
        Kind::RenameKey => {
            // `labels` and PostgreSQL's `parameters` hold the user's own keys: any name is right
            // there (an extension's setting, such as `citus.recover_2pc_interval`, too).
            let own = |path: &str| path.contains("labels.") || path.contains("parameters.");
            let keys: Vec<_> = index.entries().iter().filter(|e| e.key.is_some() && !own(&e.path)).collect();
            let entry = keys[rng.below(keys.len())];
            let span = entry.key?.span();
            let (offset, len) = (span.byte_offset()? as usize, span.byte_len()? as usize);
            let key = &text[offset..offset + len];
            // A misspelling that is no key anywhere in a scenario.
            let renamed = format!("{key}_x");
            (format!("key `{}` renamed to `{renamed}`", entry.path), splice(text, offset, len, &renamed))
        }
    };
    Some(Mutant { file: file.to_path_buf(), kind, what, text })
}

fn mutants() -> Vec<Mutant> {
    let mut rng = Rng(0x5eed_0f9d_7111);
    let mut all = Vec::new();
    for (path, text) in shipped() {
        let index = SpanIndex::build(&text).expect("a shipped scenario is YAML");
        for kind in [Kind::DeleteLine, Kind::SwapLines, Kind::RetypeScalar, Kind::RenameKey] {
            all.extend((0..PER_FILE_AND_KIND).filter_map(|_| mutate(&path, &text, &index, kind, &mut rng)));
        }
    }
    all
}

/// What became of one mutant.
enum Outcome {
    Loaded,
    Refused,
    Panicked(String),
}

fn load_and_render(mutant: &Mutant) -> Outcome {
    let name = mutant.file.display().to_string();
    let result = catch_unwind(AssertUnwindSafe(|| match parse_scenario(&name, &mutant.text) {
        Ok(_) => true,
        Err(error) => {
            let mut out = String::new();
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::none())
                .render_report(&mut out, &error)
                .expect("a diagnostic renders");
            assert!(!error.to_string().is_empty());
            false
        }
    }));
    match result {
        Ok(true) => Outcome::Loaded,
        Ok(false) => Outcome::Refused,
        Err(panic) => Outcome::Panicked(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
    }
}

#[test]
fn mutants_of_the_shipped_scenarios_never_panic_hang_or_drop_a_misspelt_key() {
    let mutants = mutants();
    assert!(mutants.len() > 2000, "a few thousand mutants, got {}", mutants.len());
    let total = mutants.len();
    let (started_tx, started) = mpsc::channel::<usize>();
    let (done_tx, done) = mpsc::channel::<(usize, Outcome)>();
    let shared = std::sync::Arc::new(mutants);
    let worker = {
        let mutants = std::sync::Arc::clone(&shared);
        std::thread::spawn(move || {
            for (i, mutant) in mutants.iter().enumerate() {
                let _ = started_tx.send(i);
                let _ = done_tx.send((i, load_and_render(mutant)));
            }
        })
    };
    let mut failures = Vec::new();
    let mut refused = 0;
    for _ in 0..total {
        let i = started.recv_timeout(BOUND).expect("the worker starts the next mutant");
        let (j, outcome) = done.recv_timeout(BOUND).unwrap_or_else(|_| {
            let m = &shared[i];
            panic!("mutant {i} ({}: {}) took longer than {BOUND:?}", m.file.display(), m.what)
        });
        let m = &shared[j];
        match outcome {
            Outcome::Panicked(message) => {
                failures.push(format!("{}: {}: panicked: {message}", m.file.display(), m.what))
            }
            Outcome::Loaded if m.kind == Kind::RenameKey => {
                failures.push(format!("{}: {}: loaded, the misspelt key silently ignored", m.file.display(), m.what))
            }
            Outcome::Loaded => {}
            Outcome::Refused => refused += 1,
        }
    }
    worker.join().expect("the worker ends");
    assert!(failures.is_empty(), "{} of {total} mutants failed:\n{}", failures.len(), failures.join("\n"));
    assert!(refused > total / 4, "most mutants are refused: {refused} of {total}");
}
