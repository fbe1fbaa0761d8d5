//! The workload lanes: acknowledged and failed writes per bucket with the longest pause, and one
//! lane per Citus worker group when writes carry one. Writes are counted per bucket, so the page
//! stays small however many writes a run makes.
use super::ctx::Ctx;
use super::format::{pause_len, secs};
use super::geometry::{Guide, Lane, LABEL_W, PLOT_W};
use crate::check::longest_write_gap;
use crate::timeline::{EventKind, Millis, WriteOutcome};

/// Writes are counted per bucket of this many ms: one bar each, however many writes a run makes.
const BUCKET_MS: Millis = 500;

/// Acknowledged (and failed) writes per 500 ms, with the longest pause between acknowledgements;
/// when writes carry a Citus worker group, also one lane per group with that group's own longest
/// pause (a switchover pauses one group while the others keep writing, which the global lane hides).
pub(super) fn workload_lanes(ctx: &Ctx<'_>) -> Vec<Lane> {
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
