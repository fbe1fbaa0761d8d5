//! The timeline's geometry: the fixed widths of the drawing, the time scale, and the shapes a
//! lane is made of. A [`Lane`] is plain shapes in lane-local coordinates plus *guides* (lines or
//! bands drawn across every lane, e.g. a fault); the SVG layout stacks lanes and draws guides.
use std::fmt;

use crate::timeline::Millis;

/// Width of the lane-label column, in SVG units.
pub(super) const LABEL_W: f64 = 150.0;
/// Width of the plotted time range.
pub(super) const PLOT_W: f64 = 1000.0;
/// Space right of the plot (so the last tick label fits).
pub(super) const RIGHT_PAD: f64 = 30.0;
/// Height of the time axis above the lanes.
pub(super) const AXIS_H: f64 = 24.0;
/// Vertical space between lanes.
pub(super) const LANE_GAP: f64 = 6.0;

/// Rough width of one character of 11px sans-serif text, to decide whether a label fits.
pub(super) const CHAR_W: f64 = 6.0;

/// An SVG coordinate, printed with one decimal (keeps the page small).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub(super) struct Px(pub(super) f64);

impl fmt::Display for Px {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1}", self.0)
    }
}

/// Maps run time (ms) to x.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scale {
    /// The right end of the axis (> 0).
    pub(super) end: Millis,
}

impl Scale {
    pub(super) fn x(&self, t: Millis) -> f64 {
        LABEL_W + PLOT_W * (t.min(self.end) as f64 / self.end as f64)
    }

    pub(super) fn width(&self, from: Millis, to: Millis) -> f64 {
        (self.x(to) - self.x(from)).max(0.0)
    }
}

/// A rectangle; `title` becomes a native hover tooltip.
#[derive(Debug, Clone)]
pub(super) struct Rect {
    pub(super) x: Px,
    pub(super) y: Px,
    pub(super) w: Px,
    pub(super) h: Px,
    pub(super) class: &'static str,
    pub(super) title: Option<String>,
}

/// A line segment.
#[derive(Debug, Clone)]
pub(super) struct Line {
    pub(super) x1: Px,
    pub(super) y1: Px,
    pub(super) x2: Px,
    pub(super) y2: Px,
    pub(super) class: &'static str,
}

/// A text label; `anchor` is SVG's `text-anchor` (start, middle, end).
#[derive(Debug, Clone)]
pub(super) struct Text {
    pub(super) x: Px,
    pub(super) y: Px,
    pub(super) class: &'static str,
    pub(super) anchor: &'static str,
    pub(super) text: String,
}

/// Something drawn across all lanes at a time (or time range).
#[derive(Debug, Clone)]
pub(super) struct Guide {
    pub(super) from: Millis,
    pub(super) to: Millis,
    pub(super) class: &'static str,
    pub(super) title: Option<String>,
}

/// One horizontal lane of the timeline. Shapes use absolute x and lane-local y (0 = lane top).
#[derive(Debug, Clone)]
pub(super) struct Lane {
    /// Lane type, for styling and tests (`data-kind`): phases, steps, faults, member, workload.
    pub(super) kind: &'static str,
    /// Label in the left column.
    pub(super) name: String,
    /// Smaller second line under the label.
    pub(super) detail: String,
    pub(super) height: f64,
    /// Whether the plot area gets the grey lane background (a group header has none).
    pub(super) background: bool,
    /// Set by the layout: the lane's top, its height and where its label lines sit.
    pub(super) y: Px,
    pub(super) h: Px,
    pub(super) name_y: Px,
    pub(super) detail_y: Px,
    pub(super) rects: Vec<Rect>,
    pub(super) lines: Vec<Line>,
    pub(super) texts: Vec<Text>,
    pub(super) guides: Vec<Guide>,
}

impl Lane {
    pub(super) fn new(kind: &'static str, name: impl Into<String>, height: f64) -> Self {
        Self {
            kind,
            name: name.into(),
            detail: String::new(),
            height,
            background: true,
            y: Px(0.0),
            h: Px(height),
            name_y: Px(0.0),
            detail_y: Px(0.0),
            rects: Vec::new(),
            lines: Vec::new(),
            texts: Vec::new(),
            guides: Vec::new(),
        }
    }

    pub(super) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &'static str, title: Option<String>) {
        self.rects.push(Rect { x: Px(x), y: Px(y), w: Px(w), h: Px(h), class, title });
    }

    pub(super) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &'static str) {
        self.lines.push(Line { x1: Px(x1), y1: Px(y1), x2: Px(x2), y2: Px(y2), class });
    }

    pub(super) fn text(&mut self, x: f64, y: f64, class: &'static str, anchor: &'static str, text: impl Into<String>) {
        self.texts.push(Text { x: Px(x), y: Px(y), class, anchor, text: text.into() });
    }

    /// A label centred in `[x, x + w]` if it fits there.
    pub(super) fn text_inside(&mut self, x: f64, w: f64, y: f64, class: &'static str, text: &str) -> bool {
        if fits(text, w) {
            self.text(x + w / 2.0, y, class, "middle", text);
            true
        } else {
            false
        }
    }
}

fn fits(text: &str, width: f64) -> bool {
    text.chars().count() as f64 * CHAR_W + 6.0 <= width
}

/// `text`, shortened with an ellipsis to at most `max` characters.
pub(super) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}
