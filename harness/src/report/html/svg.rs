//! The timeline's SVG layout: lanes stacked top to bottom under a time axis, their guides drawn
//! across all of them.
use super::ctx::Ctx;
use super::geometry::{Lane, Line, Px, Rect, AXIS_H, LABEL_W, LANE_GAP, PLOT_W, RIGHT_PAD};
use super::lanes::LANE_TYPES;
use crate::report::model::RunReport;
use crate::timeline::Millis;

/// A tick of the time axis.
#[derive(Debug, Clone)]
pub(super) struct Tick {
    pub(super) x: Px,
    pub(super) label: String,
}

/// The laid-out timeline.
#[derive(Debug, Clone)]
pub(super) struct Svg {
    pub(super) width: Px,
    pub(super) height: Px,
    /// Where the plot starts and ends (x) and where lanes start and end (y).
    pub(super) plot_x0: Px,
    pub(super) plot_x1: Px,
    pub(super) plot_w: Px,
    /// Top of the axis ticks.
    pub(super) tick_y0: Px,
    pub(super) lanes_y0: Px,
    pub(super) lanes_y1: Px,
    pub(super) ticks: Vec<Tick>,
    pub(super) lanes: Vec<Lane>,
    /// Guides of all lanes, in absolute coordinates: bands first, then lines.
    pub(super) bands: Vec<Rect>,
    pub(super) guides: Vec<Line>,
}

impl Svg {
    pub(super) fn new(report: &RunReport) -> Self {
        let ctx = Ctx::new(report);
        let end = ctx.scale.end;
        let mut lanes: Vec<Lane> = LANE_TYPES.iter().flat_map(|lane_type| lane_type(&ctx)).collect();
        let mut y = AXIS_H;
        for lane in &mut lanes {
            lane.y = Px(y);
            lane.h = Px(lane.height);
            let middle = lane.height / 2.0;
            (lane.name_y, lane.detail_y) = if lane.detail.is_empty() {
                (Px(middle + 4.0), Px(0.0))
            } else {
                (Px(middle - 1.0), Px(middle + 10.0))
            };
            y += lane.height + LANE_GAP;
        }
        let lanes_y1 = y - LANE_GAP;
        let mut bands = Vec::new();
        let mut guides = Vec::new();
        for guide in lanes.iter().flat_map(|l| &l.guides) {
            let x = ctx.scale.x(guide.from);
            if guide.to > guide.from {
                let w = ctx.scale.width(guide.from, guide.to);
                bands.push(Rect {
                    x: Px(x),
                    y: Px(AXIS_H),
                    w: Px(w),
                    h: Px(lanes_y1 - AXIS_H),
                    class: guide.class,
                    title: guide.title.clone(),
                });
            } else {
                guides.push(Line { x1: Px(x), y1: Px(AXIS_H - 4.0), x2: Px(x), y2: Px(lanes_y1), class: guide.class });
            }
        }
        let tick_ms = tick_step(end);
        let ticks = (0..=end / tick_ms)
            .map(|i| i * tick_ms)
            .map(|t| Tick { x: Px(ctx.scale.x(t)), label: axis_label(t) })
            .collect();
        Self {
            width: Px(LABEL_W + PLOT_W + RIGHT_PAD),
            height: Px(lanes_y1 + 6.0),
            plot_x0: Px(LABEL_W),
            plot_x1: Px(LABEL_W + PLOT_W),
            plot_w: Px(PLOT_W),
            tick_y0: Px(AXIS_H - 6.0),
            lanes_y0: Px(AXIS_H),
            lanes_y1: Px(lanes_y1),
            ticks,
            lanes,
            bands,
            guides,
        }
    }
}

impl Svg {
    /// Whether some lane is of `kind` (the legend only explains what is drawn).
    pub(super) fn has(&self, kind: &str) -> bool {
        self.lanes.iter().any(|l| l.kind == kind)
    }
}

/// A tick spacing giving at most ~12 ticks.
pub(super) fn tick_step(end: Millis) -> Millis {
    const STEPS_S: [u64; 13] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600];
    STEPS_S.iter().map(|s| s * 1_000).find(|step| end / step <= 12).unwrap_or(7_200_000)
}

/// `0s`, `45s`, `1m`, `1m 30s`.
pub(super) fn axis_label(ms: Millis) -> String {
    let s = ms / 1_000;
    match (s / 60, s % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m {s}s"),
    }
}
