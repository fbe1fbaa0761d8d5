//! The HTML sink: `report.html`, one self-contained page (inline CSS and SVG, no script, nothing
//! fetched) to open from a CI artefact: the run's header, the verdict table and a timeline drawn
//! from the report's events. Like every sink it only reads the report; it never judges.
//!
//! The timeline is a stack of lanes on one time axis. A [`Lane`] is plain shapes in lane-local
//! coordinates plus *guides* (vertical lines or bands drawn across every lane, e.g. a fault).
//! Each lane type is one function `fn(&Ctx) -> Vec<Lane>` listed in [`LANE_TYPES`], so a new
//! kind of lane is one function and one entry there: phases, steps, faults, members (grouped by
//! Citus group when the members are Citus ones), pg_dist_node per Citus group with Patroni's
//! pg_dist_node transactions ([`citus_lanes`]), the workload (and per worker group when writes
//! carry one) and alerts ([`alert_lanes`]). Below the timeline, the alert coverage matrix of a
//! run with monitoring. Page size stays bounded for long runs: writes are aggregated into 500 ms
//! buckets, a lane draws at most one span per pixel, alert lanes and the event log are capped.
mod alert_lanes;
mod citus_lanes;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use askama::Template;

use super::history::run_duration;
use super::model::{MonitoringSummary, RunReport};
use crate::check::{describe_view, longest_write_gap, MemberHistory, Status};
use crate::timeline::{describe_dist_nodes, EventKind, MemberView, Millis, Role, WriteOutcome};
use crate::topology::member_group;
use alert_lanes::alert_lanes;
use citus_lanes::dist_node_lanes;

/// The page's file name inside a run's report directory.
pub const HTML_FILE: &str = "report.html";

/// Width of the lane-label column, in SVG units.
const LABEL_W: f64 = 150.0;
/// Width of the plotted time range.
const PLOT_W: f64 = 1000.0;
/// Space right of the plot (so the last tick label fits).
const RIGHT_PAD: f64 = 30.0;
/// Height of the time axis above the lanes.
const AXIS_H: f64 = 24.0;
/// Vertical space between lanes.
const LANE_GAP: f64 = 6.0;
/// Writes are counted per bucket of this many ms: one bar each, however many writes a run makes.
const BUCKET_MS: Millis = 500;
/// Rough width of one character of 11px sans-serif text, to decide whether a label fits.
const CHAR_W: f64 = 6.0;
/// At most this many events in the page's event log (writes are never listed one by one).
const MAX_LOG_ROWS: usize = 1_000;

/// Renders the report as one HTML page.
pub fn render_html(report: &RunReport) -> String {
    Page::new(report).render().expect("rendering into a String cannot fail")
}

/// Writes `dir/report.html`, creating `dir` if needed, and returns its path (written beside its
/// final name and renamed into place, like the JSON report).
pub fn write_html(report: &RunReport, dir: &Path) -> io::Result<PathBuf> {
    write_atomically(dir, HTML_FILE, render_html(report).as_bytes())
}

/// Writes every file of a run's report directory: `report.json`, `junit.xml` and `report.html`
/// (the JSON first: it is the source the others can be re-rendered from with `pgdrill report`).
pub fn write_all(report: &RunReport, dir: &Path) -> io::Result<()> {
    super::json::write_json(report, dir)?;
    super::junit::write_junit(report, dir)?;
    write_html(report, dir)?;
    Ok(())
}

/// Writes `dir/name` through a `.partial` file renamed into place.
pub(super) fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = dir.join(name);
    let partial = dir.join(format!("{name}.partial"));
    fs::write(&partial, contents)?;
    fs::rename(&partial, &path)?;
    Ok(path)
}

// ---------------------------------------------------------------------------------------------
// Geometry

/// An SVG coordinate, printed with one decimal (keeps the page small).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct Px(f64);

impl fmt::Display for Px {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1}", self.0)
    }
}

/// Maps run time (ms) to x.
#[derive(Debug, Clone, Copy)]
struct Scale {
    /// The right end of the axis (> 0).
    end: Millis,
}

impl Scale {
    fn x(&self, t: Millis) -> f64 {
        LABEL_W + PLOT_W * (t.min(self.end) as f64 / self.end as f64)
    }

    fn width(&self, from: Millis, to: Millis) -> f64 {
        (self.x(to) - self.x(from)).max(0.0)
    }
}

/// A rectangle; `title` becomes a native hover tooltip.
#[derive(Debug, Clone)]
struct Rect {
    x: Px,
    y: Px,
    w: Px,
    h: Px,
    class: &'static str,
    title: Option<String>,
}

/// A line segment.
#[derive(Debug, Clone)]
struct Line {
    x1: Px,
    y1: Px,
    x2: Px,
    y2: Px,
    class: &'static str,
}

/// A text label; `anchor` is SVG's `text-anchor` (start, middle, end).
#[derive(Debug, Clone)]
struct Text {
    x: Px,
    y: Px,
    class: &'static str,
    anchor: &'static str,
    text: String,
}

/// Something drawn across all lanes at a time (or time range).
#[derive(Debug, Clone)]
struct Guide {
    from: Millis,
    to: Millis,
    class: &'static str,
    title: Option<String>,
}

/// One horizontal lane of the timeline. Shapes use absolute x and lane-local y (0 = lane top).
#[derive(Debug, Clone)]
struct Lane {
    /// Lane type, for styling and tests (`data-kind`): phases, steps, faults, member, workload.
    kind: &'static str,
    /// Label in the left column.
    name: String,
    /// Smaller second line under the label.
    detail: String,
    height: f64,
    /// Whether the plot area gets the grey lane background (a group header has none).
    background: bool,
    /// Set by the layout: the lane's top, its height and where its label lines sit.
    y: Px,
    h: Px,
    name_y: Px,
    detail_y: Px,
    rects: Vec<Rect>,
    lines: Vec<Line>,
    texts: Vec<Text>,
    guides: Vec<Guide>,
}

impl Lane {
    fn new(kind: &'static str, name: impl Into<String>, height: f64) -> Self {
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

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &'static str, title: Option<String>) {
        self.rects.push(Rect { x: Px(x), y: Px(y), w: Px(w), h: Px(h), class, title });
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &'static str) {
        self.lines.push(Line { x1: Px(x1), y1: Px(y1), x2: Px(x2), y2: Px(y2), class });
    }

    fn text(&mut self, x: f64, y: f64, class: &'static str, anchor: &'static str, text: impl Into<String>) {
        self.texts.push(Text { x: Px(x), y: Px(y), class, anchor, text: text.into() });
    }

    /// A label centred in `[x, x + w]` if it fits there.
    fn text_inside(&mut self, x: f64, w: f64, y: f64, class: &'static str, text: &str) -> bool {
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
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// What every lane function gets.
struct Ctx<'a> {
    report: &'a RunReport,
    scale: Scale,
    /// The last time the cluster was observed (teardown starts after it); member views end here.
    observed_until: Millis,
    history: MemberHistory<'a>,
}

impl<'a> Ctx<'a> {
    fn new(report: &'a RunReport) -> Self {
        let timeline = &report.timeline;
        let end = run_duration(report).max(1_000);
        // Observation stops when teardown begins; without that phase, at the last event.
        let observed_until = timeline
            .events
            .iter()
            .rev()
            .find_map(|e| matches!(&e.kind, EventKind::Phase { name } if name == "teardown").then_some(e.at))
            .unwrap_or(end);
        Ctx {
            report,
            scale: Scale { end },
            observed_until,
            history: MemberHistory::from_timeline(timeline, observed_until),
        }
    }
}

/// The lane types, top to bottom. A new kind of lane is one function here.
const LANE_TYPES: &[fn(&Ctx<'_>) -> Vec<Lane>] =
    &[phase_lanes, step_lanes, fault_lanes, member_lanes, dist_node_lanes, workload_lanes, alert_lanes];

// ---------------------------------------------------------------------------------------------
// Lanes

/// Run phases (images, start, steps, audit, teardown) with their durations.
fn phase_lanes(ctx: &Ctx<'_>) -> Vec<Lane> {
    if ctx.report.phases.is_empty() {
        return Vec::new();
    }
    let mut lane = Lane::new("phases", "run phases", 18.0);
    for phase in &ctx.report.phases {
        let (from, to) = (phase.started_ms, phase.started_ms + phase.duration_ms);
        let (x, w) = (ctx.scale.x(from), ctx.scale.width(from, to).max(1.0));
        let title = format!("{} {} ({}–{})", phase.name, secs(phase.duration_ms), secs(from), secs(to));
        lane.rect(x, 1.0, w, 16.0, "phase", Some(title));
        lane.text_inside(x, w, 13.0, "dark", &phase.name);
    }
    vec![lane]
}

/// Scenario steps as boxes from start to finish, numbered from 1 like the progress lines.
fn step_lanes(ctx: &Ctx<'_>) -> Vec<Lane> {
    let events = &ctx.report.timeline.events;
    let mut lane = Lane::new("steps", "steps", 22.0);
    for (start, event) in events.iter().enumerate() {
        let EventKind::StepStarted { index, description } = &event.kind else { continue };
        let finished = events[start..].iter().find_map(|e| match &e.kind {
            EventKind::StepFinished { index: i, ok, detail } if i == index => Some((e.at, *ok, detail)),
            _ => None,
        });
        let (to, class, outcome) = match finished {
            Some((at, true, detail)) => (at, "step-ok", format!("ok: {detail}")),
            Some((at, false, detail)) => (at, "step-failed", format!("failed: {detail}")),
            None => (ctx.observed_until.max(event.at), "step-failed", "did not finish".to_string()),
        };
        let (x, w) = (ctx.scale.x(event.at), ctx.scale.width(event.at, to).max(2.0));
        let number = index + 1;
        let title = format!("step {number}: {description} ({}–{}) — {outcome}", secs(event.at), secs(to));
        lane.rect(x, 2.0, w, 18.0, class, Some(title));
        let _ = lane.text_inside(x, w, 15.0, "dark", &format!("{number} {description}"))
            || lane.text_inside(x, w, 15.0, "dark", &number.to_string());
        lane.guides.push(Guide { from: event.at, to: event.at, class: "step-guide", title: None });
    }
    if lane.rects.is_empty() {
        return Vec::new();
    }
    vec![lane]
}

/// Faults applied (red) and healed (green), labelled; their guides cross every lane.
fn fault_lanes(ctx: &Ctx<'_>) -> Vec<Lane> {
    const ROW_H: f64 = 14.0;
    const MAX_ROWS: usize = 3;
    let events = &ctx.report.timeline.events;
    let mut markers = Vec::new();
    for (i, event) in events.iter().enumerate() {
        match &event.kind {
            EventKind::FaultApplied { step, fault, targets } => {
                let proof = events[i..].iter().find_map(|e| match &e.kind {
                    EventKind::FaultVerified { step: s, ok, proof } if s == step => {
                        Some(if *ok { format!("verified: {proof}") } else { format!("NOT verified: {proof}") })
                    }
                    _ => None,
                });
                let label = format!("{fault} {}", targets.join(", "));
                let mut title = format!("step {}: {label} at {}", step + 1, secs(event.at));
                if let Some(proof) = proof {
                    title.push_str(&format!(" — {proof}"));
                }
                markers.push((event.at, label, title, "fault", "fault-guide"));
            }
            EventKind::FaultHealed { step, detail } => {
                let title = format!("step {}: healed at {}: {detail}", step + 1, secs(event.at));
                markers.push((event.at, "healed".to_string(), title, "heal", "heal-guide"));
            }
            _ => {}
        }
    }
    if markers.is_empty() {
        return Vec::new();
    }
    // Labels go right of their marker, each in the first row where it does not overlap.
    let mut row_ends = [f64::MIN; MAX_ROWS];
    let mut placed = Vec::new();
    for (at, label, title, class, guide) in markers {
        let x = ctx.scale.x(at);
        let width = label.chars().count() as f64 * CHAR_W + 8.0;
        let row = row_ends.iter().position(|&end| end < x).unwrap_or(MAX_ROWS - 1);
        row_ends[row] = x + width;
        placed.push((at, x, row, label, title, class, guide));
    }
    let rows = placed.iter().map(|p| p.2).max().unwrap_or(0) + 1;
    let mut lane = Lane::new("faults", "faults", rows as f64 * ROW_H + 4.0);
    for (at, x, row, label, title, class, guide) in placed {
        let y = row as f64 * ROW_H + 2.0;
        lane.rect(x - 1.5, y, 3.0, ROW_H - 2.0, class, Some(title.clone()));
        lane.text(x + 4.0, y + ROW_H - 4.0, class, "start", label);
        lane.guides.push(Guide { from: at, to: at, class: guide, title: Some(title) });
    }
    vec![lane]
}

/// One lane per member: what its Patroni REST API answered over time. Citus members (`coord-N`,
/// `workerG-N`) are ordered by group, each group under a header lane.
fn member_lanes(ctx: &Ctx<'_>) -> Vec<Lane> {
    let history = &ctx.history;
    let mut members = history.members();
    // Stable: natural order within a group; members outside any group (pg-N) stay first.
    members.sort_by_key(|m| member_group(m).map_or(0, |g| u64::from(g) + 1));
    let mut lanes = Vec::new();
    let mut header_of = None;
    for member in members {
        if let Some(group) = member_group(member) {
            if header_of != Some(group) {
                header_of = Some(group);
                lanes.push(group_header(group, history));
            }
        }
        lanes.push(member_lane(member, ctx));
    }
    lanes
}

/// `coordinator (group 0)` / `worker group 2`.
fn group_title(group: u32) -> String {
    if group == 0 {
        "coordinator (group 0)".to_string()
    } else {
        format!("worker group {group}")
    }
}

/// The separator above a Citus group's member lanes: its name and its members.
fn group_header(group: u32, history: &MemberHistory<'_>) -> Lane {
    let mut lane = Lane::new("group", group_title(group), 16.0);
    lane.background = false;
    let members: Vec<&str> = history.members().into_iter().filter(|m| member_group(m) == Some(group)).collect();
    lane.line(0.0, 1.0, LABEL_W + PLOT_W, 1.0, "group-sep");
    lane.text(LABEL_W + 4.0, 12.0, "group-members", "start", members.join(" · "));
    lane
}

/// What one member's Patroni REST API answered over time.
fn member_lane(member: &str, ctx: &Ctx<'_>) -> Lane {
    let history = &ctx.history;
    let mut lane = Lane::new("member", member, 24.0);
    let spans = history.spans(member);
    if let Some(last) = spans.last() {
        lane.detail = describe_view(last.view);
    }
    // A member that flaps faster than a pixel would add one element per change: draw
    // at most one span per pixel (its neighbours' tooltips still cover the time).
    let mut drawn_to = f64::MIN;
    for span in spans {
        let (x, w) = (ctx.scale.x(span.from), ctx.scale.width(span.from, span.to).max(1.0));
        if x + w <= drawn_to + 1.0 {
            continue;
        }
        drawn_to = x + w;
        let class = role_class(span.view);
        let mut title = format!("{member}: {} ({}–{})", describe_view(span.view), secs(span.from), secs(span.to));
        if span.view.sync_standby {
            title.push_str(", sync standby");
        }
        if let Some(error) = &span.view.error {
            title.push_str(&format!(": {error}"));
        }
        lane.rect(x, 2.0, w, 20.0, class, Some(title));
        if span.view.sync_standby {
            lane.rect(x, 19.0, w, 3.0, "sync", None);
        }
        let short = span.view.timeline.map(|tl| format!("tl {tl}")).unwrap_or_default();
        let ink = if class.ends_with("-weak") { "dark" } else { "light" };
        let _ =
            lane.text_inside(x, w, 16.0, ink, &describe_view(span.view)) || lane.text_inside(x, w, 16.0, ink, &short);
    }
    lane
}

/// The colour class of a view: primary, replica, down (unreachable) or other; the `-weak`
/// variants are reachable members in a state other than running/streaming (starting, stopped…).
fn role_class(view: &MemberView) -> &'static str {
    if !view.reachable {
        return "down";
    }
    let settled = matches!(view.state.as_deref(), Some("running" | "streaming"));
    match (view.role, settled) {
        (Some(Role::Primary), true) => "primary",
        (Some(Role::Primary), false) => "primary-weak",
        (Some(Role::Replica), true) => "replica",
        (Some(Role::Replica), false) => "replica-weak",
        _ => "other",
    }
}

/// Acknowledged (and failed) writes per 500 ms, with the longest pause between acknowledgements;
/// when writes carry a Citus worker group, also one lane per group with that group's own longest
/// pause (a switchover pauses one group while the others keep writing, which the global lane hides).
fn workload_lanes(ctx: &Ctx<'_>) -> Vec<Lane> {
    let mut groups = std::collections::BTreeSet::new();
    for event in &ctx.report.timeline.events {
        if let EventKind::Write { group: Some(group), .. } = &event.kind {
            groups.insert(*group);
        }
    }
    let mut lanes = Vec::new();
    let all = WriteSelection { kind: "workload", name: "writes / 500 ms".to_string(), group: None, height: 70.0 };
    lanes.extend(throughput_lane(ctx, &all));
    for group in groups {
        let name = format!("group {group} writes");
        let selection = WriteSelection { kind: "group-workload", name, group: Some(group), height: 46.0 };
        lanes.extend(throughput_lane(ctx, &selection));
    }
    lanes
}

/// Which writes a throughput lane counts.
struct WriteSelection {
    kind: &'static str,
    name: String,
    /// `None`: every write, and the longest pause is a guide across all lanes; `Some`: the writes
    /// routed to that worker group, the pause marked in the lane only.
    group: Option<u32>,
    height: f64,
}

/// The longest stretch between consecutive acknowledgements among `acks` (sorted here).
fn longest_gap(mut acks: Vec<Millis>) -> Option<(Millis, Millis)> {
    acks.sort_unstable();
    acks.windows(2).map(|w| (w[0], w[1])).max_by_key(|&(from, to)| (to - from, std::cmp::Reverse(from)))
}

/// One throughput lane: bars per bucket (acked below, failed on top) and the longest pause.
fn throughput_lane(ctx: &Ctx<'_>, selection: &WriteSelection) -> Option<Lane> {
    const TOP: f64 = 14.0; // room for the pause label
    let height = selection.height;
    let buckets = (ctx.scale.end / BUCKET_MS + 1) as usize;
    let (mut acked, mut failed) = (vec![0u32; buckets], vec![0u32; buckets]);
    let (mut total_acked, mut total_failed) = (0u64, 0u64);
    let mut acks = Vec::new();
    for event in &ctx.report.timeline.events {
        let EventKind::Write { outcome, group, .. } = &event.kind else { continue };
        if selection.group.is_some() && *group != selection.group {
            continue;
        }
        let (counts, at) = match outcome {
            WriteOutcome::Acked { acked_at } => {
                total_acked += 1;
                acks.push(*acked_at);
                (&mut acked, *acked_at)
            }
            WriteOutcome::Failed { failed_at, .. } => {
                total_failed += 1;
                (&mut failed, *failed_at)
            }
        };
        counts[((at / BUCKET_MS) as usize).min(buckets - 1)] += 1;
    }
    if total_acked + total_failed == 0 {
        return None;
    }
    let mut lane = Lane::new(selection.kind, selection.name.clone(), height);
    lane.detail = format!("{total_acked} acked, {total_failed} failed");
    let max = acked.iter().zip(&failed).map(|(a, f)| a + f).max().unwrap_or(1).max(1);
    let unit = (height - TOP - 2.0) / f64::from(max);
    let bottom = height - 1.0;
    lane.line(LABEL_W, bottom, LABEL_W + PLOT_W, bottom, "baseline");
    lane.text(LABEL_W + PLOT_W + 3.0, TOP + 4.0, "axis", "start", max.to_string());

    let gap = match selection.group {
        None => longest_write_gap(&ctx.report.timeline, ctx.scale.end).map(|g| (g.from, g.to)),
        Some(_) => longest_gap(acks),
    };
    if let Some((from, to)) = gap {
        let (x, w) = (ctx.scale.x(from), ctx.scale.width(from, to).max(1.0));
        let whose = selection.group.map_or_else(String::new, |g| format!("group {g}: "));
        let text = format!("{whose}longest pause {} ({}–{})", pause_len(to - from), secs(from), secs(to));
        lane.rect(x, 0.0, w, height, "pause", Some(text.clone()));
        let anchor_x = (x + w / 2.0).clamp(LABEL_W + 60.0, LABEL_W + PLOT_W - 60.0);
        lane.text(anchor_x, 10.0, "pause-label", "middle", format!("longest pause {}", pause_len(to - from)));
        if selection.group.is_none() {
            lane.guides.push(Guide { from, to, class: "pause-guide", title: Some(text) });
        }
    }

    let bar_w = (ctx.scale.width(0, BUCKET_MS) - 0.3).max(0.6);
    for (i, (&a, &f)) in acked.iter().zip(&failed).enumerate() {
        if a + f == 0 {
            continue;
        }
        let from = i as Millis * BUCKET_MS;
        let x = ctx.scale.x(from);
        let title = format!("{}–{}: {a} acked, {f} failed", secs(from), secs(from + BUCKET_MS));
        let (ha, hf) = (f64::from(a) * unit, f64::from(f) * unit);
        if a > 0 {
            lane.rect(x, bottom - ha, bar_w, ha, "ack", Some(title.clone()));
        }
        if f > 0 {
            lane.rect(x, bottom - ha - hf, bar_w, hf, "nack", Some(title));
        }
    }
    Some(lane)
}

// ---------------------------------------------------------------------------------------------
// The SVG

/// A tick of the time axis.
#[derive(Debug, Clone)]
struct Tick {
    x: Px,
    label: String,
}

/// The laid-out timeline.
#[derive(Debug, Clone)]
struct Svg {
    width: Px,
    height: Px,
    /// Where the plot starts and ends (x) and where lanes start and end (y).
    plot_x0: Px,
    plot_x1: Px,
    plot_w: Px,
    /// Top of the axis ticks.
    tick_y0: Px,
    lanes_y0: Px,
    lanes_y1: Px,
    ticks: Vec<Tick>,
    lanes: Vec<Lane>,
    /// Guides of all lanes, in absolute coordinates: bands first, then lines.
    bands: Vec<Rect>,
    guides: Vec<Line>,
}

impl Svg {
    fn new(report: &RunReport) -> Self {
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
    fn has(&self, kind: &str) -> bool {
        self.lanes.iter().any(|l| l.kind == kind)
    }
}

/// A tick spacing giving at most ~12 ticks.
fn tick_step(end: Millis) -> Millis {
    const STEPS_S: [u64; 13] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600];
    STEPS_S.iter().map(|s| s * 1_000).find(|step| end / step <= 12).unwrap_or(7_200_000)
}

/// `0s`, `45s`, `1m`, `1m 30s`.
fn axis_label(ms: Millis) -> String {
    let s = ms / 1_000;
    match (s / 60, s % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m {s}s"),
    }
}

/// `1 value changed`, `2 values changed`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A pause: `2.7s`, or `20 ms` under a second (the writers' rhythm, not "0.0s").
fn pause_len(ms: Millis) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else {
        secs(ms)
    }
}

fn secs(ms: Millis) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

// ---------------------------------------------------------------------------------------------
// The page

/// A verdict table row.
struct VerdictRow {
    check: String,
    step: String,
    status: &'static str,
    class: &'static str,
    observed: String,
    budget: String,
}

/// A label and a value.
struct Item {
    label: &'static str,
    value: String,
}

/// A row of the event log.
struct LogRow {
    at: String,
    kind: &'static str,
    text: String,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ report.scenario }} · {{ result }} · pgdrill</title>
<style>{{ css|safe }}</style>
</head>
<body>
<header>
<h1>{{ report.scenario }} <span class="badge {{ result_class }}" id="result">{{ result }}</span></h1>
<p class="sub">{{ result_detail }}</p>
<dl class="meta">
{%- for item in meta %}
<dt>{{ item.label }}</dt><dd>{{ item.value }}</dd>
{%- endfor %}
</dl>
{%- if let Some(error) = report.error %}
<p class="error"><strong>run error:</strong> {{ error }}</p>
{%- endif %}
{%- for note in report.notes %}
<p class="note">note: {{ note }}</p>
{%- endfor %}
</header>
<section>
<h2>Verdicts</h2>
{%- if verdicts.is_empty() %}
<p>no checks were evaluated</p>
{%- else %}
<table class="verdicts" id="verdicts">
<thead><tr><th>check</th><th>step</th><th>status</th><th>observed</th><th>budget</th></tr></thead>
<tbody>
{%- for v in verdicts %}
<tr class="{{ v.class }}"><td>{{ v.check }}</td><td class="num">{{ v.step }}</td><td class="status">{{ v.status }}</td><td>{{ v.observed }}</td><td>{{ v.budget }}</td></tr>
{%- endfor %}
</tbody>
</table>
{%- endif %}
</section>
<section>
<h2>Timeline</h2>
<div class="legend"><span><i class="primary"></i>primary</span><span><i class="replica"></i>replica</span><span><i class="down"></i>down / unreachable</span><span><i class="other"></i>other role</span><span><i class="replica-weak"></i>pale: starting, stopped…</span><span><i class="sync"></i>sync standby</span><span><i class="fault-key"></i>fault</span><span><i class="ack"></i>acked writes</span><span><i class="nack"></i>failed attempts</span><span><i class="pause"></i>longest pause</span>
{%- if svg.has("pg_dist_node") %}<span><i class="dist-a"></i><i class="dist-b"></i>pg_dist_node primary row (shade = node)</span><span><i class="dist-demoted"></i>-demoted (switchover in flight)</span><span><i class="citus-tx"></i>Patroni's pg_dist_node transaction</span>{% endif %}
{%- if svg.has("alert") %}<span><i class="alert-pending"></i>alert pending</span><span><i class="alert-firing"></i>firing</span><span><i class="alert-resolved"></i>resolved</span><span><i class="am-firing"></i>thin strip: in Alertmanager</span>{% endif %}</div>
<div class="timeline">
<svg class="timeline" id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{ svg.width }} {{ svg.height }}" width="{{ svg.width }}" height="{{ svg.height }}" role="img" aria-label="timeline of run {{ report.run_id }}">
<g class="axis">
{%- for tick in svg.ticks %}
<line class="tick" x1="{{ tick.x }}" y1="{{ svg.tick_y0 }}" x2="{{ tick.x }}" y2="{{ svg.lanes_y0 }}"/><text class="axis" x="{{ tick.x }}" y="14" text-anchor="middle">{{ tick.label }}</text>
{%- endfor %}
<line class="tick" x1="{{ svg.plot_x0 }}" y1="{{ svg.lanes_y0 }}" x2="{{ svg.plot_x1 }}" y2="{{ svg.lanes_y0 }}"/>
<text class="axis" x="6" y="14">time since start</text>
</g>
{%- for lane in svg.lanes %}
<g class="lane" data-kind="{{ lane.kind }}" data-name="{{ lane.name }}" transform="translate(0 {{ lane.y }})">
{%- if lane.background %}
<rect class="lane-bg" x="{{ svg.plot_x0 }}" y="0" width="{{ svg.plot_w }}" height="{{ lane.h }}"/>
{%- endif %}
<text class="lane-name" x="6" y="{{ lane.name_y }}">{{ lane.name }}</text>
{%- if !lane.detail.is_empty() %}<text class="lane-detail" x="6" y="{{ lane.detail_y }}">{{ lane.detail }}</text>{% endif %}
{%- for r in lane.rects %}
<rect class="{{ r.class }}" x="{{ r.x }}" y="{{ r.y }}" width="{{ r.w }}" height="{{ r.h }}">{% if let Some(title) = r.title %}<title>{{ title }}</title>{% endif %}</rect>
{%- endfor %}
{%- for l in lane.lines %}
<line class="{{ l.class }}" x1="{{ l.x1 }}" y1="{{ l.y1 }}" x2="{{ l.x2 }}" y2="{{ l.y2 }}"/>
{%- endfor %}
{%- for t in lane.texts %}
<text class="{{ t.class }}" x="{{ t.x }}" y="{{ t.y }}" text-anchor="{{ t.anchor }}">{{ t.text }}</text>
{%- endfor %}
</g>
{%- endfor %}
<g class="guides">
{%- for tick in svg.ticks %}
<line class="grid" x1="{{ tick.x }}" y1="{{ svg.lanes_y0 }}" x2="{{ tick.x }}" y2="{{ svg.lanes_y1 }}"/>
{%- endfor %}
{%- for r in svg.bands %}
<rect class="{{ r.class }}" x="{{ r.x }}" y="{{ r.y }}" width="{{ r.w }}" height="{{ r.h }}">{% if let Some(title) = r.title %}<title>{{ title }}</title>{% endif %}</rect>
{%- endfor %}
{%- for l in svg.guides %}
<line class="{{ l.class }}" x1="{{ l.x1 }}" y1="{{ l.y1 }}" x2="{{ l.x2 }}" y2="{{ l.y2 }}"/>
{%- endfor %}
</g>
</svg>
</div>
</section>
{%- if let Some(monitoring) = report.monitoring %}
<section>
<h2>Alert coverage</h2>
<p class="note">What every alert of the rule files did during the run; “could not fire” means a series its expression needs never existed, whatever the fault.</p>
{%- if let Some(error) = monitoring.coverage_error %}
<p class="error"><strong>coverage unavailable:</strong> {{ error }}</p>
{%- endif %}
{%- if !coverage.is_empty() %}
<table class="coverage" id="coverage">
<thead><tr><th>alert</th><th>fired</th><th>pending only</th><th>inactive</th><th>could not fire: series absent</th><th>defined at</th></tr></thead>
<tbody>
{%- for row in coverage %}
<tr class="{{ row.class }}"><td>{{ row.alert }}</td>{% for cell in row.cells %}<td class="cell">{% if *cell %}●{% endif %}</td>{% endfor %}<td>{{ row.defined_at }}{% if !row.detail.is_empty() %}<br><small>{{ row.detail }}</small>{% endif %}</td></tr>
{%- endfor %}
</tbody>
</table>
{%- endif %}
<p class="note">{{ scaling }}</p>
{%- if !monitoring.scaled.is_empty() %}
<details><summary>what was time-scaled</summary>
<ul class="scaled">
{%- for line in monitoring.scaled %}
<li>{{ line }}</li>
{%- endfor %}
</ul>
</details>
{%- endif %}
</section>
{%- endif %}
<section>
<h2>Timings</h2>
<table class="timings">
{%- for item in timings %}
<tr><th>{{ item.label }}</th><td class="num">{{ item.value }}</td></tr>
{%- endfor %}
</table>
</section>
{%- if let Some(m) = monitoring %}
<section id="monitoring">
<h2>Monitoring</h2>
<p>alert rules scaled by for_scale {{ m.for_scale }} ({{ m.scaled }} values changed)</p>
{%- for w in m.warnings %}
<p class="error">warning: {{ w }}</p>
{%- endfor %}
<h3>Alert observation latency</h3>
{%- if m.latency.is_empty() %}
<p>no alert changed state</p>
{%- else %}
<ul id="alert-latency">
{%- for line in m.latency %}
<li>{{ line }}</li>
{%- endfor %}
</ul>
{%- endif %}
<h3>Alert coverage</h3>
<table class="verdicts" id="coverage">
<thead><tr><th>alert</th><th>what it did</th><th>defined at</th></tr></thead>
<tbody>
{%- for row in m.coverage %}
<tr class="{{ row.class }}"><td>{{ row.alert }}</td><td>{{ row.what }}</td><td>{{ row.defined_at }}</td></tr>
{%- endfor %}
</tbody>
</table>
</section>
{%- endif %}
<section>
<h2>Events</h2>
<details>
<summary>{{ log_note }}</summary>
<table class="log">
{%- for row in log %}
<tr><td>{{ row.at }}</td><td>{{ row.kind }}</td><td>{{ row.text }}</td></tr>
{%- endfor %}
</table>
</details>
</section>
<footer>pgdrill {{ version }} · report schema {{ report.schema_version }} · self-contained page, no scripts</footer>
</body>
</html>
"##
)]
struct Page<'a> {
    css: &'static str,
    report: &'a RunReport,
    result: &'static str,
    result_class: &'static str,
    result_detail: String,
    meta: Vec<Item>,
    verdicts: Vec<VerdictRow>,
    timings: Vec<Item>,
    svg: Svg,
    coverage: Vec<CoverageLine>,
    scaling: String,
    log: Vec<LogRow>,
    log_note: String,
    version: &'static str,
    monitoring: Option<MonitoringView>,
}

/// The monitoring section: coverage, observation latency, warnings.
struct MonitoringView {
    for_scale: f64,
    scaled: usize,
    warnings: Vec<String>,
    latency: Vec<String>,
    coverage: Vec<CoverageView>,
}

/// A row of the coverage table.
struct CoverageView {
    alert: String,
    what: String,
    defined_at: String,
    class: &'static str,
}

impl MonitoringView {
    fn new(m: &crate::report::MonitoringSummary) -> Self {
        let mut warnings: Vec<String> = m.unknown_metrics.iter().map(ToString::to_string).collect();
        if let Some(error) = &m.coverage_error {
            warnings.push(format!("alert coverage unavailable: {error}"));
        }
        if let Some(check) = m.metric_list.as_ref().filter(|c| !c.missing.is_empty()) {
            warnings.push(format!("metric list stale: never appeared: {}", check.missing.join(", ")));
        }
        let coverage = m
            .coverage
            .iter()
            .map(|row| {
                let (what, class) = match row.outcome.as_str() {
                    "fired" => ("fired".to_string(), "pass"),
                    "went_pending" => ("went pending, never fired".to_string(), "pass"),
                    "stayed_inactive" => ("stayed inactive".to_string(), "pass"),
                    "series_absent" => (format!("could not fire: no series for {}", row.missing.join(", ")), "fail"),
                    other => (other.to_string(), "pass"),
                };
                CoverageView { alert: row.alert.clone(), what, defined_at: row.defined_at.clone(), class }
            })
            .collect();
        Self {
            for_scale: m.for_scale,
            scaled: m.scaled.len(),
            warnings,
            latency: super::terminal::latency_lines(&m.alert_latency),
            coverage,
        }
    }
}

/// A row of the alert coverage matrix.
struct CoverageLine {
    alert: String,
    /// The outcome columns: fired, pending only, inactive, series absent.
    cells: [bool; 4],
    class: &'static str,
    defined_at: String,
    /// The missing selectors, or an outcome this page does not know.
    detail: String,
}

/// The coverage matrix's rows and the sentence on time scaling.
fn coverage(monitoring: Option<&MonitoringSummary>) -> (Vec<CoverageLine>, String) {
    let Some(monitoring) = monitoring else { return (Vec::new(), String::new()) };
    let rows = monitoring
        .coverage
        .iter()
        .map(|row| {
            let column =
                ["fired", "went_pending", "stayed_inactive", "series_absent"].iter().position(|o| *o == row.outcome);
            let mut cells = [false; 4];
            if let Some(column) = column {
                cells[column] = true;
            }
            let detail = match column {
                Some(3) => format!("no series: {}", row.missing.join(", ")),
                Some(_) => String::new(),
                None => format!("outcome: {}", row.outcome),
            };
            let class = match column {
                Some(0) => "fired",
                Some(1) => "pending",
                Some(2) => "inactive",
                _ => "absent",
            };
            CoverageLine { alert: row.alert.clone(), cells, class, defined_at: row.defined_at.clone(), detail }
        })
        .collect();
    let scaling = if monitoring.for_scale == 1.0 {
        "Rules ran unscaled (for_scale 1).".to_string()
    } else {
        format!(
            "Rules ran with for_scale {}: every for:, range window, subquery step and group interval was \
             multiplied by it ({}); alerts fire faster, Patroni does not.",
            monitoring.for_scale,
            count(monitoring.scaled.len(), "value changed", "values changed")
        )
    };
    (rows, scaling)
}

impl<'a> Page<'a> {
    fn new(report: &'a RunReport) -> Self {
        let failed = report.verdicts.iter().filter(|v| v.status != Status::Pass).count();
        let result_detail = match (report.verdicts.len(), failed, &report.error) {
            (0, _, _) => "no checks were evaluated".to_string(),
            (n, 0, None) => format!("{n} of {n} checks passed"),
            (n, 0, Some(_)) => format!("{n} of {n} checks passed, but the run stopped with an error"),
            (n, f, _) => format!("{f} of {n} checks did not pass"),
        };
        let verdicts = report
            .verdicts
            .iter()
            .map(|v| VerdictRow {
                check: v.check.clone(),
                step: v.step.map_or_else(|| "invariant".to_string(), |s| (s + 1).to_string()),
                status: match v.status {
                    Status::Pass => "PASS",
                    Status::Fail => "FAIL",
                    Status::Pending => "PENDING",
                },
                class: if v.status == Status::Pass { "pass" } else { "fail" },
                observed: v.observed.clone(),
                budget: v.budget.clone(),
            })
            .collect();
        let meta = vec![
            Item { label: "run", value: report.run_id.clone() },
            Item { label: "scenario file", value: report.scenario_file.clone() },
            Item { label: "started", value: report.started_at.clone() },
            Item { label: "duration", value: secs(run_duration(report)) },
        ];
        let t = &report.timings;
        let h = &report.harness;
        let timings = vec![
            Item { label: "image build", value: secs(t.image_build_ms) },
            Item { label: "containers start", value: secs(t.containers_start_ms) },
            Item { label: "time to healthy", value: t.time_to_healthy_ms.map_or_else(|| "never".into(), secs) },
            Item { label: "detection latency", value: t.detection_latency_ms.map_or_else(|| "n/a".into(), secs) },
            Item { label: "teardown", value: secs(t.teardown_ms) },
            Item {
                label: "harness CPU",
                value: format!("{} user + {} system", secs(h.cpu_user_ms), secs(h.cpu_system_ms)),
            },
            Item { label: "harness max RSS", value: format!("{:.1} MiB", h.max_rss_kib as f64 / 1024.0) },
        ];
        let (log, log_note) = event_log(report);
        let (coverage, scaling) = coverage(report.monitoring.as_ref());
        Page {
            css: CSS,
            report,
            result: if report.passed { "PASSED" } else { "FAILED" },
            result_class: if report.passed { "passed" } else { "failed" },
            result_detail,
            meta,
            verdicts,
            timings,
            svg: Svg::new(report),
            coverage,
            scaling,
            log,
            log_note,
            version: env!("CARGO_PKG_VERSION"),
            monitoring: report.monitoring.as_ref().map(MonitoringView::new),
        }
    }
}

/// Every event except single writes (those are drawn as buckets), capped at [`MAX_LOG_ROWS`].
fn event_log(report: &RunReport) -> (Vec<LogRow>, String) {
    let mut rows = Vec::new();
    let mut writes = 0usize;
    let mut skipped = 0usize;
    for event in &report.timeline.events {
        let (kind, text) = match &event.kind {
            EventKind::Write { .. } => {
                writes += 1;
                continue;
            }
            EventKind::Phase { name } => ("phase", name.clone()),
            EventKind::StepStarted { index, description } => ("step", format!("{} started: {description}", index + 1)),
            EventKind::StepFinished { index, ok, detail } => {
                ("step", format!("{} {}: {detail}", index + 1, if *ok { "ok" } else { "FAILED" }))
            }
            EventKind::ExpectOpened { step, anchor, leader_at_anchor, old_primary, group } => {
                let name = |m: &Option<String>| m.clone().unwrap_or_else(|| "none".into());
                let group = group.map(|g| format!(", group {g}")).unwrap_or_default();
                let (at, leader, old) = (*anchor as f64 / 1000.0, name(leader_at_anchor), name(old_primary));
                ("step", format!("{} expect from {at:.3}s: leader then {leader}, old primary {old}{group}", step + 1))
            }
            EventKind::ObservationEnded { run_error } => {
                ("phase", run_error.as_ref().map_or("observation ended".into(), |e| format!("observation ended: {e}")))
            }
            EventKind::Member { member, view, .. } => {
                let mut text = format!("{member} {}", describe_view(view));
                if view.sync_standby {
                    text.push_str(" (sync standby)");
                }
                if let Some(error) = &view.error {
                    text.push_str(&format!(": {error}"));
                }
                ("member", text)
            }
            EventKind::FaultApplied { step, fault, targets } => {
                ("fault", format!("step {}: {fault} {}", step + 1, targets.join(", ")))
            }
            EventKind::FaultVerified { step, ok, proof } => {
                ("fault", format!("step {}: {}: {proof}", step + 1, if *ok { "verified" } else { "NOT verified" }))
            }
            EventKind::FaultHealed { step, detail } => ("fault", format!("step {}: healed: {detail}", step + 1)),
            EventKind::WriteAudit { present, source } => {
                let ids: u64 = present.iter().map(|(a, b)| b.abs_diff(*a) + 1).sum();
                ("audit", format!("{ids} ids present on {source} ({} ranges)", present.len()))
            }
            EventKind::Note { source, text } => ("note", format!("{source}: {text}")),
            EventKind::Alert { alert, labels, state, from, source, .. } => {
                ("alert", format!("{alert} {labels:?}: {from} → {state} ({source})"))
            }
            EventKind::ContainerAudit { container, status, on_network, iptables_rules } => {
                let rules = iptables_rules.map_or_else(|| "-".to_string(), |n| n.to_string());
                ("audit", format!("{container}: {status}, on network: {on_network}, iptables rules left: {rules}"))
            }
            EventKind::DistNodes { source, rows } => {
                ("pg_dist_node", format!("on {source}: {}", describe_dist_nodes(rows)))
            }
            EventKind::CitusTransaction { member, began_at, outcome, statements } => (
                "citus",
                format!(
                    "{member}: Patroni's pg_dist_node transaction from {:.3}s, {outcome}: {}",
                    *began_at as f64 / 1000.0,
                    statements.join("; ")
                ),
            ),
        };
        if rows.len() < MAX_LOG_ROWS {
            rows.push(LogRow { at: format!("{:.3}s", event.at as f64 / 1000.0), kind, text });
        } else {
            skipped += 1;
        }
    }
    let mut note = format!("{} events; {writes} writes are drawn as bars, not listed", rows.len());
    if skipped > 0 {
        note.push_str(&format!("; {skipped} more events omitted (see report.json)"));
    }
    (rows, note)
}

// ---------------------------------------------------------------------------------------------
// The drill's index page

/// One run of a drill, as the suite index lists it.
#[derive(Debug, Clone)]
pub struct SuiteRun<'a> {
    /// The scenario file as given.
    pub scenario_file: String,
    /// The run's report, when the run produced one.
    pub report: Option<&'a RunReport>,
    /// Link to the run's `report.html`, relative to the index.
    pub href: Option<String>,
    /// Why the run produced no report (or was cut short).
    pub problem: Option<String>,
    /// How it compares with the previous run of its scenario.
    pub versus_previous: String,
}

/// A row of the suite index.
struct SuiteRow {
    scenario: String,
    file: String,
    href: Option<String>,
    run_id: String,
    result: &'static str,
    class: &'static str,
    checks: String,
    duration: String,
    versus_previous: String,
    problem: Option<String>,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · pgdrill</title>
<style>{{ css|safe }}</style>
</head>
<body>
<h1>{{ title }} <span class="badge {{ result_class }}">{{ result }}</span></h1>
<p class="sub">{{ passed }} of {{ rows.len() }} runs passed</p>
<table class="verdicts" id="runs">
<thead><tr><th>scenario</th><th>run</th><th>result</th><th>checks passed</th><th>duration</th><th>compared with the previous drill</th></tr></thead>
<tbody>
{%- for row in rows %}
<tr class="{{ row.class }}"><td>{{ row.scenario }}<br><small>{{ row.file }}</small></td><td>{% if let Some(href) = row.href %}<a href="{{ href }}">{{ row.run_id }}</a>{% else %}{{ row.run_id }}{% endif %}</td><td class="status">{{ row.result }}</td><td class="num">{{ row.checks }}</td><td class="num">{{ row.duration }}</td><td>{% if let Some(problem) = row.problem %}<strong>{{ problem }}</strong><br>{% endif %}{{ row.versus_previous }}</td></tr>
{%- endfor %}
</tbody>
</table>
<footer>pgdrill {{ version }} · reports/history.jsonl holds every drill's key timings</footer>
</body>
</html>
"##
)]
struct SuiteIndex {
    css: &'static str,
    title: String,
    result: &'static str,
    result_class: &'static str,
    passed: usize,
    rows: Vec<SuiteRow>,
    version: &'static str,
}

/// Renders a drill's `index.html`: one row per run, linking each run's report.
pub fn render_suite_index(title: &str, runs: &[SuiteRun<'_>]) -> String {
    let rows: Vec<SuiteRow> = runs
        .iter()
        .map(|run| {
            let passed = run.report.is_some_and(|r| r.passed) && run.problem.is_none();
            SuiteRow {
                scenario: run.report.map_or_else(|| run.scenario_file.clone(), |r| r.scenario.clone()),
                file: run.scenario_file.clone(),
                href: run.href.clone(),
                run_id: run.report.map_or_else(|| "-".to_string(), |r| r.run_id.clone()),
                result: if passed { "PASSED" } else { "FAILED" },
                class: if passed { "pass" } else { "fail" },
                checks: run.report.map_or_else(String::new, |r| {
                    let ok = r.verdicts.iter().filter(|v| v.status == Status::Pass).count();
                    format!("{ok} / {}", r.verdicts.len())
                }),
                duration: run.report.map_or_else(String::new, |r| secs(run_duration(r))),
                versus_previous: run.versus_previous.clone(),
                problem: run.problem.clone(),
            }
        })
        .collect();
    let passed = rows.iter().filter(|r| r.class == "pass").count();
    let all = passed == rows.len() && !rows.is_empty();
    SuiteIndex {
        css: CSS,
        title: title.to_string(),
        result: if all { "PASSED" } else { "FAILED" },
        result_class: if all { "passed" } else { "failed" },
        passed,
        rows,
        version: env!("CARGO_PKG_VERSION"),
    }
    .render()
    .expect("rendering into a String cannot fail")
}

/// Colours are CSS variables so the SVG and the HTML legend share them.
const CSS: &str = r#"
:root { --primary:#2b6cb0; --replica:#38a169; --down:#e53e3e; --other:#d69e2e; --sync:#6b46c1;
  --ack:#2c7a7b; --nack:#f56565; --pause:#ecc94b; --fault:#c53030; --heal:#2f855a; --ink:#1a202c;
  --pending:#f6a5c0; --firing:#b83280; --am:#521b41; --dist-a:#4a5568; --dist-b:#7b6fb0; --dist-c:#2d6a8f;
  --demoted:#dd6b20; --tx:#553c9a; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 24px auto; max-width: 1240px; padding: 0 16px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 24px 0 6px; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 4px; color: #fff; font-size: 15px;
  vertical-align: middle; }
.badge.passed { background: #2f855a; } .badge.failed { background: #c53030; }
.sub { margin: 0 0 8px; color: #4a5568; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; margin: 0; }
dl.meta dt { color: #718096; } dl.meta dd { margin: 0; font-family: ui-monospace, monospace; }
.error { background: #fff5f5; border-left: 4px solid #c53030; padding: 6px 10px; }
.note { color: #4a5568; margin: 4px 0; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid #e2e8f0; vertical-align: top; }
thead th { border-bottom: 2px solid #a0aec0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.pass td.status { color: #2f855a; font-weight: 700; } tr.fail td.status { color: #c53030; font-weight: 700; }
tr.fail { background: #fff5f5; }
table.log td { padding: 1px 8px; font-size: 12px; } table.log td:first-child { font-family: ui-monospace, monospace; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12px; color: #4a5568; margin: 4px 0; }
.legend i { display: inline-block; width: 14px; height: 10px; margin-right: 4px; vertical-align: -1px; }
.timeline { overflow-x: auto; }
svg.timeline { width: 100%; max-width: 1180px; height: auto; display: block; }
svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: var(--ink); }
svg .lane-name { font-size: 12px; font-weight: 600; } svg .lane-detail { font-size: 10px; fill: #718096; }
svg .axis { fill: #718096; } svg .tick { stroke: #a0aec0; } svg .grid { stroke: #000; stroke-opacity: .07; }
svg .lane-bg { fill: #f1f4f8; } svg .light { fill: #fff; } svg .dark { fill: var(--ink); }
.primary { fill: var(--primary); background: var(--primary); }
.primary-weak { fill: var(--primary); fill-opacity: .45; background: var(--primary); opacity: .45; }
.replica { fill: var(--replica); background: var(--replica); }
.replica-weak { fill: var(--replica); fill-opacity: .45; background: var(--replica); opacity: .45; }
.down { fill: var(--down); background: var(--down); } .other { fill: var(--other); background: var(--other); }
.sync { fill: var(--sync); background: var(--sync); }
.ack { fill: var(--ack); background: var(--ack); } .nack { fill: var(--nack); background: var(--nack); }
.pause { fill: var(--pause); fill-opacity: .35; background: var(--pause); }
svg .pause-label { font-weight: 600; fill: #975a16; }
svg .pause-guide { fill: var(--pause); fill-opacity: .12; }
svg .baseline { stroke: #a0aec0; }
svg .phase { fill: #ebf4ff; stroke: #90cdf4; } svg .step-ok { fill: #edf2f7; stroke: #a0aec0; }
svg .step-failed { fill: #fed7d7; stroke: #c53030; }
svg rect.fault { fill: var(--fault); } svg text.fault { fill: var(--fault); font-weight: 600; }
svg rect.heal { fill: var(--heal); } svg text.heal { fill: var(--heal); }
svg .fault-guide { stroke: var(--fault); stroke-width: 1.5; stroke-opacity: .8; }
svg .heal-guide { stroke: var(--heal); stroke-width: 1; stroke-dasharray: 4 3; }
svg .step-guide { stroke: #4a5568; stroke-opacity: .45; stroke-dasharray: 2 3; }
.fault-key { background: var(--fault); width: 3px !important; }
svg .group-sep { stroke: #4a5568; stroke-width: 1.5; } svg .group-members { fill: #4a5568; font-size: 10px; }
.alert-pending { fill: var(--pending); background: var(--pending); }
.alert-firing { fill: var(--firing); background: var(--firing); }
.alert-resolved { fill: #fff; stroke: var(--firing); stroke-dasharray: 3 2; background: #fff; border: 1px dashed var(--firing); }
.am-firing { fill: var(--am); background: var(--am); height: 4px !important; vertical-align: 2px !important; }
.am-resolved { fill: var(--am); fill-opacity: .25; background: var(--am); }
svg .am-none { stroke: #a0aec0; stroke-dasharray: 1 3; }
.dist-a { fill: var(--dist-a); background: var(--dist-a); } .dist-b { fill: var(--dist-b); background: var(--dist-b); }
.dist-c { fill: var(--dist-c); background: var(--dist-c); }
.dist-demoted { fill: var(--demoted); background: var(--demoted); }
.dist-inactive { fill: var(--dist-a); fill-opacity: .4; background: var(--dist-a); }
svg .dist-missing { fill: #fff; stroke: var(--down); stroke-dasharray: 2 2; }
.citus-tx { fill: var(--tx); fill-opacity: .28; stroke: var(--tx); stroke-width: 1; background: var(--tx); opacity: .6; }
svg .citus-tx.demoting { fill: var(--demoted); fill-opacity: .45; stroke: var(--tx); stroke-dasharray: 3 2; }
svg .tx-guide { fill: var(--tx); fill-opacity: .07; }
table.coverage td.cell { text-align: center; color: var(--firing); }
table.coverage tr.absent { background: #fffaf0; } table.coverage tr.absent td.cell { color: var(--demoted); }
table.coverage tr.inactive td.cell { color: #718096; }
ul.scaled { font-family: ui-monospace, monospace; font-size: 12px; margin: 4px 0; }
footer { margin-top: 24px; color: #a0aec0; font-size: 12px; }
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Verdict;
    use crate::report::terminal::tests::sample;
    use crate::timeline::{Event, Timeline};

    /// A 10-minute run: member flaps every 30 s, writes at 100/s, a fault a minute.
    fn long_run() -> RunReport {
        let mut events = Vec::new();
        let view = |role, state: &str| MemberView {
            reachable: true,
            role: Some(role),
            state: Some(state.into()),
            timeline: Some(1),
            sync_standby: false,
            error: None,
        };
        for (i, t) in (0..600_000u64).step_by(30_000).enumerate() {
            for m in 1..=3 {
                let role = if (i + m) % 3 == 0 { Role::Primary } else { Role::Replica };
                let kind = EventKind::Member {
                    member: format!("pg-{m}"),
                    view: view(role, "running"),
                    prev_seen_at: t.checked_sub(100),
                };
                events.push(Event { at: t + m as u64, kind });
            }
            if i % 2 == 0 {
                let kind = EventKind::FaultApplied { step: i, fault: "kill".into(), targets: vec!["pg-1".into()] };
                events.push(Event { at: t + 10, kind });
            }
        }
        for n in 0..60_000u64 {
            let sent = n * 10;
            let outcome = if n % 7 == 0 {
                WriteOutcome::Failed { failed_at: sent + 4, error: "connection reset".into() }
            } else {
                WriteOutcome::Acked { acked_at: sent + 2 }
            };
            events.push(Event {
                at: sent + 4,
                kind: EventKind::Write { id: n, writer: 0, group: None, sent_at: sent, outcome },
            });
        }
        events.sort_by_key(|e| e.at);
        RunReport { timeline: Timeline::from_events(events), ..sample() }
    }

    #[test]
    fn a_ten_minute_run_stays_under_a_megabyte() {
        let html = render_html(&long_run());
        assert!(html.len() < 1_000_000, "report.html of a 10-minute run is {} bytes", html.len());
        eprintln!("report.html of a 10-minute run: {} bytes", html.len());
        // One bar per 500 ms bucket, not one element per write.
        let bars = html.matches("<rect class=\"ack\"").count();
        assert!((1_100..=1_201).contains(&bars), "{bars} acked bars");
    }

    #[test]
    fn a_flapping_member_costs_at_most_one_span_per_pixel() {
        let mut report = long_run();
        let mut flaps: Vec<Event> = (0..6_000u64)
            .map(|i| Event {
                at: i * 100 + 50,
                kind: EventKind::Member {
                    member: "pg-9".into(),
                    view: MemberView {
                        reachable: i % 2 == 0,
                        role: Some(Role::Replica),
                        state: Some("streaming".into()),
                        timeline: Some(1),
                        sync_standby: false,
                        error: None,
                    },
                    prev_seen_at: Some(i * 100),
                },
            })
            .collect();
        report.timeline.events.append(&mut flaps);
        report.timeline.events.sort_by_key(|e| e.at);
        let html = render_html(&report);
        let lane = html.split("data-name=\"pg-9\"").nth(1).unwrap().split("</g>").next().unwrap();
        let rects = lane.matches("<rect").count();
        assert!(rects <= 1_001, "{rects} rects for one member lane");
        assert!(html.len() < 1_000_000, "{} bytes", html.len());
    }

    #[test]
    fn every_lane_type_is_drawn() {
        let html = render_html(&long_run());
        for lane in ["faults", "workload"] {
            assert!(html.contains(&format!("data-kind=\"{lane}\"")), "no {lane} lane");
        }
        for member in ["pg-1", "pg-2", "pg-3"] {
            assert!(html.contains(&format!("data-kind=\"member\" data-name=\"{member}\"")), "no lane for {member}");
        }
        assert!(html.contains("<text class=\"pause-label\""), "the longest pause is not marked");
    }

    fn member(at: Millis, name: &str, role: Role) -> Event {
        let view = MemberView {
            reachable: true,
            role: Some(role),
            state: Some("running".into()),
            timeline: Some(1),
            sync_standby: false,
            error: None,
        };
        Event { at, kind: EventKind::Member { member: name.into(), view, prev_seen_at: None } }
    }

    #[test]
    fn citus_members_are_grouped_under_a_header_per_group() {
        let events = ["worker2-1", "coord-2", "worker1-1", "coord-1", "worker10-1", "worker1-2"]
            .iter()
            .map(|m| member(1_000, m, Role::Replica))
            .collect();
        let report = RunReport { timeline: Timeline::from_events(events), ..sample() };
        let lanes = member_lanes(&Ctx::new(&report));
        let order: Vec<(&str, &str)> = lanes.iter().map(|l| (l.kind, l.name.as_str())).collect();
        assert_eq!(
            order,
            [
                ("group", "coordinator (group 0)"),
                ("member", "coord-1"),
                ("member", "coord-2"),
                ("group", "worker group 1"),
                ("member", "worker1-1"),
                ("member", "worker1-2"),
                ("group", "worker group 2"),
                ("member", "worker2-1"),
                ("group", "worker group 10"),
                ("member", "worker10-1"),
            ]
        );
        assert!(!lanes[0].background);
        assert_eq!(lanes[3].texts[0].text, "worker1-1 · worker1-2");
    }

    #[test]
    fn plain_members_get_no_group_headers() {
        let lanes = member_lanes(&Ctx::new(&long_run()));
        assert_eq!(lanes.iter().map(|l| l.kind).collect::<Vec<_>>(), ["member"; 3]);
    }

    #[test]
    fn writes_with_groups_get_a_lane_per_group_with_its_own_pause() {
        // Groups 1 and 2 write every 10 ms for 30 s; group 1 pauses from 10 s to 13 s.
        let mut events = Vec::new();
        for n in 0..6_000u64 {
            let (group, sent) = (1 + (n % 2) as u32, n / 2 * 10);
            if group == 1 && (10_000..13_000).contains(&sent) {
                continue;
            }
            let outcome = WriteOutcome::Acked { acked_at: sent + 2 };
            let kind = EventKind::Write { id: n, writer: group, group: Some(group), sent_at: sent, outcome };
            events.push(Event { at: sent + 2, kind });
        }
        let report = RunReport { timeline: Timeline::from_events(events), ..sample() };
        let lanes = workload_lanes(&Ctx::new(&report));
        let names: Vec<(&str, &str)> = lanes.iter().map(|l| (l.kind, l.name.as_str())).collect();
        assert_eq!(
            names,
            [
                ("workload", "writes / 500 ms"),
                ("group-workload", "group 1 writes"),
                ("group-workload", "group 2 writes")
            ]
        );
        let pause = |lane: &Lane| lane.rects.iter().find(|r| r.class == "pause").and_then(|r| r.title.clone());
        assert_eq!(pause(&lanes[1]).unwrap(), "group 1: longest pause 3.0s (10.0s–13.0s)");
        // Group 2 never paused beyond its 10 ms rhythm, so neither did the global lane.
        assert!(pause(&lanes[2]).unwrap().starts_with("group 2: longest pause 10 ms"), "{:?}", pause(&lanes[2]));
        assert!(pause(&lanes[0]).unwrap().starts_with("longest pause 10 ms"), "{:?}", pause(&lanes[0]));
        // Only the global pause is a guide across every lane.
        assert_eq!(lanes.iter().map(|l| l.guides.len()).collect::<Vec<_>>(), [1, 0, 0]);
        assert_eq!(lanes[1].detail, "2700 acked, 0 failed");
    }

    #[test]
    fn the_coverage_matrix_has_one_mark_per_alert() {
        use crate::report::model::CoverageRow;
        let row = |alert: &str, outcome: &str, missing: &[&str]| CoverageRow {
            alert: alert.into(),
            defined_at: "rules.yaml:10".into(),
            outcome: outcome.into(),
            missing: missing.iter().map(|m| m.to_string()).collect(),
        };
        let monitoring = MonitoringSummary {
            for_scale: 0.1,
            scaled: vec!["FailoverDetected for: 1m → 6s (rules.yaml:52)".into()],
            coverage: vec![
                row("FailoverDetected", "fired", &[]),
                row("ReplicationLag", "went_pending", &[]),
                row("DiskFull", "stayed_inactive", &[]),
                row("CitusWorkerDown", "series_absent", &["citus_worker_nodes_is_active"]),
                row("Future", "exploded", &[]),
            ],
            coverage_error: None,
            ..MonitoringSummary::default()
        };
        let (rows, scaling) = coverage(Some(&monitoring));
        let marks: Vec<[bool; 4]> = rows.iter().map(|r| r.cells).collect();
        assert_eq!(
            marks,
            [
                [true, false, false, false],
                [false, true, false, false],
                [false, false, true, false],
                [false, false, false, true],
                [false; 4]
            ]
        );
        assert_eq!(rows[3].detail, "no series: citus_worker_nodes_is_active");
        assert_eq!(rows[4].detail, "outcome: exploded");
        assert!(scaling.contains("for_scale 0.1") && scaling.contains("(1 value changed)"), "{scaling}");

        let html = render_html(&RunReport { monitoring: Some(monitoring), ..sample() });
        let table = html.split("<table class=\"coverage\" id=\"coverage\">").nth(1).unwrap();
        assert_eq!(table.split("</table>").next().unwrap().matches('●').count(), 4);
        assert!(html.contains("<li>FailoverDetected for: 1m → 6s (rules.yaml:52)</li>"), "{html}");
        assert!(!render_html(&sample()).contains("Alert coverage"));
    }

    #[test]
    fn the_page_has_the_header_and_the_verdicts() {
        let html = render_html(&sample());
        assert!(html.contains("<span class=\"badge failed\" id=\"result\">FAILED</span>"), "{html}");
        assert!(html.contains("<p class=\"sub\">1 of 3 checks did not pass</p>"), "{html}");
        assert!(html.contains("<td>rejoins</td><td class=\"num\">5</td><td class=\"status\">FAIL</td>"), "{html}");
        assert!(html.contains("<td class=\"num\">invariant</td>"), "{html}");
        assert!(html.contains("<strong>run error:</strong> step 5 (wait healthy) timed out"), "{html}");
        assert!(html.contains("<th>harness max RSS</th><td class=\"num\">24.1 MiB</td>"), "{html}");
        assert!(html.contains("<th>detection latency</th><td class=\"num\">19.4s</td>"), "{html}");
    }

    #[test]
    fn texts_from_the_run_are_escaped() {
        let mut report = sample();
        report.scenario = "<b>bold</b>".into();
        report.verdicts.push(Verdict {
            check: "x\" onload=\"alert(1)".into(),
            step: None,
            status: Status::Fail,
            observed: "<script>alert('x')</script> & more".into(),
            budget: "≤ 1s".into(),
            observed_ms: None,
            budget_ms: None,
        });
        report.timeline.events.push(Event {
            at: 61_000,
            kind: EventKind::Member {
                member: "pg-<i>".into(),
                view: MemberView {
                    reachable: false,
                    role: None,
                    state: None,
                    timeline: None,
                    sync_standby: false,
                    error: Some("</title><script>".into()),
                },
                prev_seen_at: None,
            },
        });
        let html = render_html(&report);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>bold"), "{html}");
        assert!(!html.contains("pg-<i>"), "{html}");
        assert!(!html.contains("x\" onload"), "{html}");
        assert!(html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; more"), "{html}");
    }

    #[test]
    fn a_run_without_events_still_renders() {
        let mut report = sample();
        report.timeline = Timeline::default();
        report.phases.clear();
        report.verdicts.clear();
        let html = render_html(&report);
        assert!(html.contains("<svg class=\"timeline\""), "{html}");
        assert!(html.contains("<p>no checks were evaluated</p>"), "{html}");
        assert!(!html.contains("data-kind="), "{html}");
    }

    #[test]
    fn ticks_and_labels() {
        assert_eq!(tick_step(50_000), 5_000);
        assert_eq!(tick_step(600_000), 60_000);
        assert_eq!(axis_label(0), "0s");
        assert_eq!(axis_label(90_000), "1m 30s");
        assert_eq!(axis_label(120_000), "2m");
    }

    #[test]
    fn write_all_writes_the_three_files() {
        let dir = std::env::temp_dir().join(format!("pgdrill-html-all-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        write_all(&sample(), &dir).unwrap();
        for name in ["report.json", "junit.xml", HTML_FILE] {
            assert!(dir.join(name).is_file(), "{name} missing");
        }
        assert!(!dir.join("report.html.partial").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_suite_index_links_every_run() {
        let passed = RunReport { passed: true, run_id: "run-b".into(), ..sample() };
        let failed = sample();
        let runs = [
            SuiteRun {
                scenario_file: "scenarios/a.yaml".into(),
                report: Some(&failed),
                href: Some("../20261123-101500-ab12/report.html".into()),
                problem: None,
                versus_previous: "FAILED (was passed …)".into(),
            },
            SuiteRun {
                scenario_file: "scenarios/b.yaml".into(),
                report: Some(&passed),
                href: Some("../run-b/report.html".into()),
                problem: None,
                versus_previous: "first drill of this scenario in the history".into(),
            },
            SuiteRun {
                scenario_file: "scenarios/c.yaml".into(),
                report: None,
                href: None,
                problem: Some("docker unreachable".into()),
                versus_previous: String::new(),
            },
        ];
        let html = render_suite_index("suite-20261123-101500", &runs);
        assert!(html.contains("<a href=\"../20261123-101500-ab12/report.html\">20261123-101500-ab12</a>"), "{html}");
        assert!(html.contains("<a href=\"../run-b/report.html\">run-b</a>"), "{html}");
        assert!(html.contains("<p class=\"sub\">1 of 3 runs passed</p>"), "{html}");
        assert!(html.contains("<strong>docker unreachable</strong>"), "{html}");
        assert!(html.contains("2 / 3"), "{html}");
    }
}
