//! The lanes of the run itself: its phases, the scenario's steps, and the faults applied and
//! healed (whose guides cross every lane).
use super::ctx::Ctx;
use super::format::secs;
use super::geometry::{Guide, Lane, CHAR_W};
use crate::timeline::EventKind;

/// Run phases (images, start, steps, audit, teardown) with their durations.
pub(super) fn phase_lanes(ctx: &Ctx<'_>) -> Vec<Lane> {
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
pub(super) fn step_lanes(ctx: &Ctx<'_>) -> Vec<Lane> {
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
pub(super) fn fault_lanes(ctx: &Ctx<'_>) -> Vec<Lane> {
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
