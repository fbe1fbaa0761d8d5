//! Alert lanes: one lane per alert instance (alert name + label set) with what Prometheus said
//! (pending, firing, resolved) as a bar, and what Alertmanager received as a thin strip under it,
//! drawn from the timeline's `Alert` events. Inactive is the lane's background.
//!
//! Alertmanager adds Prometheus's external labels to an alert, so its instance is matched to the
//! Prometheus instance of the same alert whose labels it contains (the largest such set); one
//! with no match gets a lane of its own.
use std::collections::BTreeMap;

use super::ctx::Ctx;
use super::format::secs;
use super::geometry::{clip, Lane, LABEL_W, PLOT_W};
use crate::timeline::{EventKind, Millis};

/// At most this many alert lanes; the rest are counted in a last lane (all are in the event log).
const MAX_ALERT_LANES: usize = 30;
/// Labels that tell instances apart best, shown when an alert has one instance.
const IDENTIFYING: [&str; 4] = ["citus_group", "member", "pod", "instance"];

/// One alert instance and its state changes per source.
#[derive(Debug)]
struct Instance<'a> {
    alert: &'a str,
    labels: &'a BTreeMap<String, String>,
    prometheus: Vec<(Millis, &'a str)>,
    alertmanager: Vec<(Millis, &'a str)>,
}

/// The alert lanes, ordered by alert name and labels.
pub(super) fn alert_lanes(ctx: &Ctx<'_>) -> Vec<Lane> {
    let instances = instances(ctx);
    let mut lanes = Vec::new();
    for (i, instance) in instances.iter().enumerate() {
        if i == MAX_ALERT_LANES {
            let mut lane = Lane::new("alert-more", "more alerts", 18.0);
            let text = format!("{} more alert instances: see the event log", instances.len() - i);
            lane.text(LABEL_W + 6.0, 13.0, "dark", "start", text);
            lanes.push(lane);
            break;
        }
        let siblings: Vec<&BTreeMap<String, String>> =
            instances.iter().filter(|o| o.alert == instance.alert).map(|o| o.labels).collect();
        lanes.push(instance_lane(ctx, instance, &siblings));
    }
    lanes
}

/// Every instance seen, Prometheus's first (Alertmanager's are matched to them).
fn instances<'a>(ctx: &Ctx<'a>) -> Vec<Instance<'a>> {
    let mut instances: Vec<Instance<'a>> = Vec::new();
    let alerts = ctx.report.timeline.events.iter().filter_map(|e| match &e.kind {
        EventKind::Alert { alert, labels, state, source, .. } => Some((e.at, alert, labels, state, source)),
        _ => None,
    });
    let (from_am, from_prometheus): (Vec<_>, Vec<_>) = alerts.partition(|a| a.4 == "alertmanager");
    for (at, alert, labels, state, _) in from_prometheus {
        let index = match instances.iter().position(|i| i.alert == alert && i.labels == labels) {
            Some(index) => index,
            None => {
                instances.push(Instance { alert, labels, prometheus: Vec::new(), alertmanager: Vec::new() });
                instances.len() - 1
            }
        };
        instances[index].prometheus.push((at, state));
    }
    for (at, alert, labels, state, _) in from_am {
        let matched = instances
            .iter()
            .enumerate()
            .filter(|(_, i)| i.alert == alert && i.labels.iter().all(|(k, v)| labels.get(k) == Some(v)))
            .max_by_key(|(_, i)| i.labels.len())
            .map(|(index, _)| index);
        let index = match matched {
            Some(index) => index,
            None => {
                instances.push(Instance { alert, labels, prometheus: Vec::new(), alertmanager: Vec::new() });
                instances.len() - 1
            }
        };
        instances[index].alertmanager.push((at, state));
    }
    instances.sort_by(|a, b| (a.alert, a.labels).cmp(&(b.alert, b.labels)));
    instances
}

/// `(from, to, state)` for every state other than inactive, each lasting until the next change
/// (the last one until `until`).
fn state_spans<'a>(changes: &[(Millis, &'a str)], until: Millis) -> Vec<(Millis, Millis, &'a str)> {
    changes
        .iter()
        .enumerate()
        .filter(|(_, (_, state))| *state != "inactive")
        .map(|(i, &(from, state))| {
            let to = changes.get(i + 1).map_or(until.max(from), |next| next.0);
            (from, to, state)
        })
        .collect()
}

/// The labels worth showing under the alert's name: those whose values differ between its
/// instances, or (one instance) the identifying ones it has.
fn distinguishing(labels: &BTreeMap<String, String>, siblings: &[&BTreeMap<String, String>]) -> String {
    let differs = |key: &String| siblings.iter().any(|other| other.get(key) != labels.get(key));
    let keys: Vec<&String> = if siblings.len() > 1 {
        labels.keys().filter(|k| differs(k)).collect()
    } else {
        labels.keys().filter(|k| IDENTIFYING.contains(&k.as_str())).collect()
    };
    keys.iter().map(|k| format!("{k}={}", labels[*k])).collect::<Vec<_>>().join(" ")
}

fn label_set(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// One instance's lane: a 14 px Prometheus bar and a 5 px Alertmanager strip.
fn instance_lane(ctx: &Ctx<'_>, instance: &Instance<'_>, siblings: &[&BTreeMap<String, String>]) -> Lane {
    let mut lane = Lane::new("alert", clip(instance.alert, 22), 26.0);
    lane.detail = clip(&distinguishing(instance.labels, siblings), 26);
    let who = format!("{}{}", instance.alert, label_set(instance.labels));
    // Each source: its changes, its name and where its bar sits (top, height).
    let sources =
        [(&instance.prometheus, "Prometheus", 2.0, 14.0), (&instance.alertmanager, "Alertmanager", 18.0, 5.0)];
    for (changes, source, y, h) in sources {
        let mut drawn_to = f64::MIN;
        for (from, to, state) in state_spans(changes, ctx.observed_until) {
            let (x, w) = (ctx.scale.x(from), ctx.scale.width(from, to).max(1.0));
            if x + w <= drawn_to + 1.0 {
                continue; // at most one span per pixel
            }
            drawn_to = x + w;
            let class = state_class(source, state);
            let title = format!("{who}: {state} in {source} {}–{} ({})", secs(from), secs(to), secs(to - from));
            lane.rect(x, y, w, h, class, Some(title));
            if source == "Prometheus" {
                let ink = if state == "firing" { "light" } else { "dark" };
                lane.text_inside(x, w, 13.0, ink, state);
            }
        }
    }
    if instance.alertmanager.is_empty() && !instance.prometheus.is_empty() {
        lane.line(LABEL_W, 20.5, LABEL_W + PLOT_W, 20.5, "am-none");
    }
    lane
}

fn state_class(source: &str, state: &str) -> &'static str {
    match (source, state) {
        ("Prometheus", "pending") => "alert-pending",
        ("Prometheus", "firing") => "alert-firing",
        ("Prometheus", _) => "alert-resolved",
        (_, "firing") => "am-firing",
        (_, "pending") => "alert-pending",
        _ => "am-resolved",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::html::geometry::Px;
    use crate::report::terminal::tests::sample;
    use crate::report::RunReport;
    use crate::timeline::{Event, Timeline};

    fn alert(at: Millis, name: &str, labels: &[(&str, &str)], from: &str, state: &str, source: &str) -> Event {
        let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let kind = EventKind::Alert {
            alert: name.into(),
            labels,
            state: state.into(),
            from: from.into(),
            source: source.into(),
            seen_unix_ms: None,
            source_unix_ms: None,
        };
        Event { at, kind }
    }

    fn report(events: Vec<Event>) -> RunReport {
        let mut events = events;
        events.push(Event { at: 100_000, kind: EventKind::Phase { name: "teardown".into() } });
        RunReport { timeline: Timeline::from_events(events), ..sample() }
    }

    #[test]
    fn one_lane_per_instance_with_the_alertmanager_strip_under_prometheus() {
        let g1 = [("citus_group", "1"), ("severity", "critical")];
        let g2 = [("citus_group", "2"), ("severity", "critical")];
        let am = [("citus_group", "1"), ("severity", "critical"), ("cluster", "pgdrill")];
        let report = report(vec![
            alert(10_000, "NoPrimary", &g1, "inactive", "pending", "prometheus"),
            alert(12_000, "NoPrimary", &g1, "pending", "firing", "prometheus"),
            alert(13_000, "NoPrimary", &am, "inactive", "firing", "alertmanager"),
            alert(30_000, "NoPrimary", &g1, "firing", "resolved", "prometheus"),
            alert(31_000, "NoPrimary", &am, "firing", "resolved", "alertmanager"),
            alert(20_000, "NoPrimary", &g2, "inactive", "pending", "prometheus"),
            alert(22_000, "NoPrimary", &g2, "pending", "inactive", "prometheus"),
        ]);
        let ctx = Ctx::new(&report);
        let lanes = alert_lanes(&ctx);
        assert_eq!(lanes.len(), 2, "{lanes:#?}");
        let (first, second) = (&lanes[0], &lanes[1]);
        assert_eq!((first.name.as_str(), first.detail.as_str()), ("NoPrimary", "citus_group=1"));
        assert_eq!(second.detail, "citus_group=2");
        let classes: Vec<&str> = first.rects.iter().map(|r| r.class).collect();
        assert_eq!(classes, ["alert-pending", "alert-firing", "alert-resolved", "am-firing", "am-resolved"]);
        let firing = &first.rects[1];
        assert_eq!((firing.x, firing.w), (Px(ctx.scale.x(12_000)), Px(ctx.scale.width(12_000, 30_000))));
        let title = firing.title.as_deref().unwrap();
        assert!(title.contains("firing in Prometheus 12.0s–30.0s (18.0s)"), "{title}");
        assert!(title.contains("citus_group=\"1\""), "{title}");
        let strip = &first.rects[3];
        assert!(strip.y > firing.y && strip.h < firing.h, "the Alertmanager strip sits under the bar");
        // Resolved lasts until observation ends (teardown at 100s).
        assert_eq!(first.rects[2].w, Px(ctx.scale.width(30_000, 100_000)));
        // The pending-only instance: one pending span, no Alertmanager strip, a hairline instead.
        assert_eq!(second.rects.iter().map(|r| r.class).collect::<Vec<_>>(), ["alert-pending"]);
        assert_eq!(second.lines.len(), 1);
    }

    #[test]
    fn an_alertmanager_only_instance_gets_its_own_lane_and_many_instances_are_capped() {
        let mut events = vec![alert(5_000, "Watchdog", &[("severity", "none")], "inactive", "firing", "alertmanager")];
        for i in 0..40 {
            let member = format!("pg-{i}");
            events.push(alert(1_000 + i, "Down", &[("member", &member)], "inactive", "pending", "prometheus"));
        }
        let report = report(events);
        let lanes = alert_lanes(&Ctx::new(&report));
        assert_eq!(lanes.len(), MAX_ALERT_LANES + 1);
        assert_eq!(lanes.last().unwrap().kind, "alert-more");
        assert!(lanes.last().unwrap().texts[0].text.starts_with("11 more alert instances"));
        assert!(lanes.iter().all(|l| l.name != "Watchdog"), "sorted by name: Watchdog is past the cap");
        let all = instances(&Ctx::new(&report));
        let watchdog = all.iter().find(|i| i.alert == "Watchdog").unwrap();
        assert!(watchdog.prometheus.is_empty() && watchdog.alertmanager.len() == 1);
    }

    #[test]
    fn spans_skip_inactive_and_end_at_the_next_change() {
        let changes = [(10, "pending"), (20, "inactive"), (30, "pending"), (40, "firing")];
        assert_eq!(state_spans(&changes, 100), [(10, 20, "pending"), (30, 40, "pending"), (40, 100, "firing")]);
        assert_eq!(state_spans(&[], 100), []);
    }

    #[test]
    fn no_alert_events_no_lanes() {
        assert!(alert_lanes(&Ctx::new(&sample())).is_empty());
    }
}
