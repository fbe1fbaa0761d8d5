//! Errors from loading a scenario file. Every error that comes from the file's content points at
//! the user's text: `path:line:col` in the plain message (for CI logs and tests) and a labelled
//! span with help for miette. Rendering happens once, at the CLI edge; nothing here prints.
use std::fmt;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};

use super::snippet::Window;

/// Problems a file's diagnostic shows; the rest are counted ("… and 980 more"), so that a file
/// with thousands of problems prints a screenful, not megabytes.
pub const MAX_SHOWN_PROBLEMS: usize = 20;

/// A scenario file could not be read, parsed or validated.
#[derive(Debug)]
pub struct ScenarioError {
    /// The file as the user named it (relative paths stay relative, so messages match the
    /// command line).
    pub path: PathBuf,
    /// What went wrong.
    pub kind: ScenarioErrorKind,
    /// The file's text, for miette's snippets; `None` when the file could not be read.
    /// Boxed, like the parse problem, to keep `Result<_, ScenarioError>` small.
    source_code: Option<Box<NamedSource<String>>>,
    /// The first [`MAX_SHOWN_PROBLEMS`] problems as miette shows them (with a window on a
    /// long line).
    shown: Vec<Shown>,
    /// How many problems are not shown.
    more: Option<More>,
}

/// One problem as the diagnostic shows it: on a long line, with its own window of that line.
#[derive(Debug)]
struct Shown {
    problem: Problem,
    window: Option<Window>,
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem.message)
    }
}

impl std::error::Error for Shown {}

impl Diagnostic for Shown {
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let mut label = self.problem.labeled_span()?;
        if let Some(window) = &self.window {
            label = LabeledSpan::new_primary_with_span(label.label().map(str::to_owned), window.clamp(*label.inner()));
        }
        Some(Box::new(std::iter::once(label)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem.help_text()
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.window.as_ref().map(|window| window as _)
    }
}

/// The count of problems left out of the diagnostic.
#[derive(Debug)]
struct More(usize);

impl fmt::Display for More {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "… and {} more problem(s), not shown; fix these first", self.0)
    }
}

impl std::error::Error for More {}

impl Diagnostic for More {}

/// What went wrong with a scenario file. Its `Display` leaves out the path; [`ScenarioError`]'s
/// adds it, with line and column.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioErrorKind {
    /// The file could not be read (missing, unreadable, too large).
    #[error("failed to read the scenario file")]
    Io(#[source] std::io::Error),
    /// The file is not valid YAML or does not match the scenario format (unknown key, unknown
    /// fault, wrong type, bad duration). Parsing stops at the first such error.
    #[error("{0}")]
    Parse(Box<Problem>),
    /// The file parses but makes no sense (a step with two actions, a member the topology does
    /// not have, a Patroni setting Patroni would reject). All problems are reported at once,
    /// in file order.
    #[error("{} problem(s), the first: {}", .0.len(), .0.first().map_or("", |p| p.message.as_str()))]
    Invalid(Vec<Problem>),
}

/// One thing wrong in a scenario file, at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong, in a sentence that makes sense without the snippet.
    pub message: String,
    /// Where: a byte span in the file (zero length when only a position is known).
    pub span: SourceSpan,
    /// 1-based line of the span's start (0 when the position is unknown).
    pub line: usize,
    /// 1-based column (in characters) of the span's start (0 when the position is unknown).
    pub column: usize,
    /// A few words shown under the span.
    pub label: String,
    /// How to fix it: the allowed values, a nearby spelling, the limit.
    pub help: Option<String>,
}

impl Problem {
    /// Whether the problem has a known position in the file.
    pub fn has_location(&self) -> bool {
        self.line > 0
    }

    fn write_located(&self, f: &mut fmt::Formatter<'_>, path: &Path) -> fmt::Result {
        if self.has_location() {
            write!(f, "{}:{}:{}: {}", path.display(), self.line, self.column, self.message)
        } else {
            write!(f, "{}: {}", path.display(), self.message)
        }
    }

    fn help_text(&self) -> Option<Box<dyn fmt::Display + '_>> {
        self.help.as_ref().map(|help| Box::new(help) as _)
    }

    fn labeled_span(&self) -> Option<LabeledSpan> {
        self.has_location().then(|| LabeledSpan::new_primary_with_span(Some(self.label.clone()), self.span))
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

/// Shown as one of several related diagnostics: the snippet comes from the parent
/// [`ScenarioError`].
impl Diagnostic for Problem {
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.labeled_span().map(|label| Box::new(std::iter::once(label)) as _)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help_text()
    }
}

impl ScenarioError {
    /// The file at `path` could not be read.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Self { path: path.into(), kind: ScenarioErrorKind::Io(error), source_code: None, shown: Vec::new(), more: None }
    }

    /// The file's `text` does not parse.
    pub fn parse(path: impl Into<PathBuf>, text: &str, problem: Problem) -> Self {
        Self::with_source(path.into(), text, ScenarioErrorKind::Parse(Box::new(problem)))
    }

    /// The file's `text` parses but has `problems` (at least one).
    pub fn invalid(path: impl Into<PathBuf>, text: &str, problems: Vec<Problem>) -> Self {
        debug_assert!(!problems.is_empty(), "an invalid scenario has at least one problem");
        Self::with_source(path.into(), text, ScenarioErrorKind::Invalid(problems))
    }

    fn with_source(path: PathBuf, text: &str, kind: ScenarioErrorKind) -> Self {
        let name = path.display().to_string();
        let problems = match &kind {
            ScenarioErrorKind::Io(_) => &[][..],
            ScenarioErrorKind::Parse(problem) => std::slice::from_ref(problem.as_ref()),
            ScenarioErrorKind::Invalid(problems) => problems,
        };
        let shown = problems
            .iter()
            .take(MAX_SHOWN_PROBLEMS)
            .map(|problem| Shown {
                problem: problem.clone(),
                window: problem
                    .has_location()
                    .then(|| Window::around(&name, text, problem.span, problem.line, problem.column))
                    .flatten(),
            })
            .collect();
        let more = (problems.len() > MAX_SHOWN_PROBLEMS).then(|| More(problems.len() - MAX_SHOWN_PROBLEMS));
        let source_code = NamedSource::new(name, text.to_owned());
        Self { path, kind, source_code: Some(Box::new(source_code)), shown, more }
    }

    /// The problems in the file's content: one for a parse error, all of them for an invalid
    /// scenario, none for an I/O error.
    pub fn problems(&self) -> &[Problem] {
        match &self.kind {
            ScenarioErrorKind::Io(_) => &[],
            ScenarioErrorKind::Parse(problem) => std::slice::from_ref(problem.as_ref()),
            ScenarioErrorKind::Invalid(problems) => problems,
        }
    }

    /// The problem the diagnostic itself shows (labels, help); with several, each is a
    /// related diagnostic instead.
    fn single_problem(&self) -> Option<&Problem> {
        match self.problems() {
            [one] => Some(one),
            _ => None,
        }
    }

    fn single_shown(&self) -> Option<&Shown> {
        self.single_problem().and_then(|_| self.shown.first())
    }
}

/// Plain text, one line per problem, each starting `path:line:col:` so that logs and editors
/// can jump to it; with several problems, a count comes first.
impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ScenarioErrorKind::Io(_) => write!(f, "failed to read scenario file {}", self.path.display()),
            ScenarioErrorKind::Parse(problem) => problem.write_located(f, &self.path),
            ScenarioErrorKind::Invalid(problems) => {
                if let [one] = problems.as_slice() {
                    return one.write_located(f, &self.path);
                }
                write!(f, "{}: {} problems", self.path.display(), problems.len())?;
                for problem in problems.iter().take(MAX_SHOWN_PROBLEMS) {
                    f.write_str("\n")?;
                    problem.write_located(f, &self.path)?;
                }
                if let Some(more) = &self.more {
                    write!(f, "\n{}: {more}", self.path.display())?;
                }
                Ok(())
            }
        }
    }
}

/// The cause is the kind's cause (the I/O error), not the kind itself: a parse or validation
/// problem is the error, and a cause chain repeating it would only add noise.
impl std::error::Error for ScenarioError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

impl Diagnostic for ScenarioError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let code = match self.kind {
            ScenarioErrorKind::Io(_) => "pgdrill::scenario::io",
            ScenarioErrorKind::Parse(_) => "pgdrill::scenario::parse",
            ScenarioErrorKind::Invalid(_) => "pgdrill::scenario::invalid",
        };
        Some(Box::new(code))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        if let Some(window) = self.single_shown().and_then(|shown| shown.window.as_ref()) {
            return Some(window);
        }
        self.source_code.as_deref().map(|source| source as _)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.single_shown()?.labels()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if let ScenarioErrorKind::Io(_) = self.kind {
            return Some(Box::new("check the path; `pgdrill list` shows the scenarios in a directory"));
        }
        let help = self.single_problem()?.help.as_ref()?;
        Some(Box::new(help))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        match &self.kind {
            ScenarioErrorKind::Invalid(problems) if problems.len() > 1 => Some(Box::new(
                self.shown.iter().map(|shown| shown as &dyn Diagnostic).chain(self.more.iter().map(|more| more as _)),
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(line: usize, column: usize, offset: usize, message: &str) -> Problem {
        Problem {
            message: message.to_owned(),
            span: (offset, 3).into(),
            line,
            column,
            label: "here".to_owned(),
            help: Some("fix it".to_owned()),
        }
    }

    /// The rendering CI logs see: miette's graphical handler without colours or Unicode.
    fn render(error: ScenarioError) -> String {
        let mut out = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::none())
            .with_width(100)
            .render_report(&mut out, &error)
            .expect("renders");
        out
    }

    #[test]
    fn one_problem_displays_path_line_and_column() {
        let error = ScenarioError::invalid("scenarios/x.yaml", "abc: def\n", vec![problem(1, 6, 5, "bad value")]);
        assert_eq!(error.to_string(), "scenarios/x.yaml:1:6: bad value");
    }

    #[test]
    fn several_problems_display_one_line_each() {
        let text = "abc: def\nghi: jkl\n";
        let error =
            ScenarioError::invalid("x.yaml", text, vec![problem(1, 6, 5, "first"), problem(2, 6, 14, "second")]);
        assert_eq!(error.to_string(), "x.yaml: 2 problems\nx.yaml:1:6: first\nx.yaml:2:6: second");
        let rendered = render(error);
        assert!(rendered.contains("[x.yaml:2:6]"), "{rendered}");
        assert!(rendered.contains("help: fix it"), "{rendered}");
    }

    #[test]
    fn miette_names_the_real_file_and_labels_the_span() {
        let error = ScenarioError::parse("scenarios/x.yaml", "abc: def\n", problem(1, 6, 5, "bad value"));
        let rendered = render(error);
        assert!(rendered.contains("[scenarios/x.yaml:1:6]"), "{rendered}");
        assert!(rendered.contains("here"), "{rendered}");
        assert!(!rendered.contains("<input>"), "{rendered}");
    }

    #[test]
    fn io_error_keeps_its_cause() {
        let error = ScenarioError::io("missing.yaml", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(error.to_string(), "failed to read scenario file missing.yaml");
        assert!(std::error::Error::source(&error).is_some());
    }
}
