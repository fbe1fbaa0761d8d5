//! The member lanes: what each member's Patroni REST API answered over time, Citus members grouped
//! under a header lane per group.
use super::ctx::Ctx;
use super::format::secs;
use super::geometry::{Lane, LABEL_W, PLOT_W};
use crate::check::{describe_view, MemberHistory};
use crate::timeline::{MemberView, Role};
use crate::topology::member_group;

/// One lane per member: what its Patroni REST API answered over time. Citus members (`coord-N`,
/// `workerG-N`) are ordered by group, each group under a header lane.
pub(super) fn member_lanes(ctx: &Ctx<'_>) -> Vec<Lane> {
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
pub(super) fn group_title(group: u32) -> String {
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
