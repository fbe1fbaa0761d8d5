//! Stable names of a run's verdicts, `check@step`: the JUnit test cases, and how `compare` and
//! the drill history pair a verdict with the same one of another run.
use crate::check::Verdict;

/// `new_leader@4` (steps numbered from 1, as everywhere people read them) or
/// `single_primary@invariant`.
pub fn case_name(verdict: &Verdict) -> String {
    match verdict.step {
        Some(step) => format!("{}@{}", verdict.check, step + 1),
        None => format!("{}@invariant", verdict.check),
    }
}

/// [`case_name`] of every verdict, made unique: the same check twice in one step (e.g. two
/// `rejoins` targets) becomes `rejoins@6` and `rejoins@6#2`. Also how `compare` pairs verdicts.
pub fn case_names(verdicts: &[Verdict]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(verdicts.len());
    for verdict in verdicts {
        let name = case_name(verdict);
        let repeats = names.iter().filter(|n| n.split('#').next() == Some(name.as_str())).count();
        names.push(if repeats == 0 { name } else { format!("{name}#{}", repeats + 1) });
    }
    names
}
