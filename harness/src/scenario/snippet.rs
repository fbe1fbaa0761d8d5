//! Keeping diagnostics small whatever the input: a long line is shown as a window around the
//! problem's column (miette would print the whole line once per problem: a one-line file with a
//! thousand problems became tens of megabytes), and user text quoted in a message is clipped and
//! has its control characters escaped (a name with terminal escapes must not reach the terminal
//! raw).
use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// Lines up to this many bytes are shown whole, with their neighbours.
pub(super) const MAX_SHOWN_LINE: usize = 160;
/// Bytes shown on each side of the problem's start in a longer line.
const RADIUS: usize = 60;
/// Characters of user text a message quotes.
const MAX_QUOTED: usize = 48;

/// The part of one long line around a problem, for miette: only this line, cut to a window
/// around the problem with `…` where it was cut. Offsets stay those of the whole file, so the
/// problem's label lines up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Window {
    name: String,
    /// The shown text, with the `…` markers.
    data: String,
    /// The file offset the first byte of `data` stands for (before the window's first real
    /// byte by the length of the leading marker).
    base: usize,
    /// 0-based line and column of the problem, for miette's `[file:line:col]` header.
    line: usize,
    column: usize,
    /// Where the shown line ends, in file offsets: a label is cut there.
    end: usize,
}

impl Window {
    /// A window on the line holding `span`, or `None` when that line is short enough to show as
    /// it is. `line` and `column` are the problem's 1-based position.
    pub(super) fn around(name: &str, text: &str, span: SourceSpan, line: usize, column: usize) -> Option<Self> {
        let offset = span.offset().min(text.len());
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        if line_end - line_start <= MAX_SHOWN_LINE {
            return None;
        }
        let start = floor_boundary(text, offset.saturating_sub(RADIUS).max(line_start));
        let end = ceil_boundary(text, (offset + span.len().min(RADIUS) + RADIUS).min(line_end));
        let prefix = if start > line_start { "…" } else { "" };
        let suffix = if end < line_end { "…" } else { "" };
        Some(Self {
            name: name.to_owned(),
            data: format!("{prefix}{}{suffix}", &text[start..end]),
            base: start - prefix.len(),
            line: line.saturating_sub(1),
            column: column.saturating_sub(1),
            end,
        })
    }

    /// `span` cut at the end of the shown text, so miette draws it on the one line it shows.
    pub(super) fn clamp(&self, span: SourceSpan) -> SourceSpan {
        let end = (span.offset() + span.len()).min(self.end);
        (span.offset(), end.saturating_sub(span.offset())).into()
    }
}

impl SourceCode for Window {
    /// The window whatever the span and context asked for: it holds one problem's line only.
    fn read_span<'a>(
        &'a self,
        _span: &SourceSpan,
        _before: usize,
        _after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let span = (self.base, self.data.len()).into();
        let contents =
            MietteSpanContents::new_named(self.name.clone(), self.data.as_bytes(), span, self.line, self.column, 1);
        Ok(Box::new(contents))
    }
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// User text as a message quotes it: control characters escaped (`\u{1b}`), clipped to a few
/// dozen characters with `…`.
pub(crate) fn shown(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_QUOTED {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_shown_whole() {
        assert_eq!(Window::around("x", "abc: def\n", (5, 3).into(), 1, 6), None);
    }

    #[test]
    fn a_long_line_is_cut_around_the_problem() {
        let text = format!("a: [{}bad{}]\n", "x, ".repeat(100), ", y".repeat(100));
        let offset = text.find("bad").unwrap();
        let window = Window::around("f.yaml", &text, (offset, 3).into(), 1, offset + 1).unwrap();
        assert!(window.data.starts_with('…') && window.data.ends_with('…'), "{}", window.data);
        assert!(window.data.len() < 2 * RADIUS + 20, "{}", window.data);
        let contents = window.read_span(&(offset, 3).into(), 1, 1).unwrap();
        let at = offset - contents.span().offset();
        assert_eq!(&contents.data()[at..at + 3], b"bad", "the label's offset lines up");
        assert_eq!((contents.line(), contents.column()), (0, offset));
    }

    #[test]
    fn quoted_text_is_clipped_and_escaped() {
        assert_eq!(shown("pg-1"), "pg-1");
        assert_eq!(shown("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
        assert_eq!(shown(&"x".repeat(100)).chars().count(), MAX_QUOTED + 1);
    }
}
