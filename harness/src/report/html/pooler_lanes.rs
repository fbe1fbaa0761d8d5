//! The PgBouncer lane (`topology.pooler`): from the pooler observer's `SHOW POOLS` lines, how
//! many clients waited for a server connection over time (bars), whether server connections were
//! logging in, and when the admin console did not answer. Each bar's title is the whole pool line.
use super::ctx::Ctx;
use super::format::secs;
use super::geometry::{Lane, LABEL_W, PLOT_W};
use crate::timeline::{EventKind, Millis, PoolerPools};

/// One lane when the run recorded PgBouncer's console; none otherwise.
pub(super) fn pooler_lanes(ctx: &Ctx<'_>) -> Vec<Lane> {
    const HEIGHT: f64 = 46.0;
    const TOP: f64 = 4.0;
    let samples: Vec<(Millis, Option<&PoolerPools>, bool)> = ctx
        .report
        .timeline
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Pooler { pools, error, .. } => Some((e.at, pools.as_ref(), error.is_some())),
            _ => None,
        })
        .collect();
    if samples.is_empty() {
        return Vec::new();
    }
    let mut lane = Lane::new("pooler", "PgBouncer clients waiting", HEIGHT);
    let most = samples.iter().filter_map(|(_, p, _)| p.map(|p| p.cl_waiting)).max().unwrap_or(0);
    let longest = samples.iter().filter_map(|(_, p, _)| p.map(|p| p.maxwait_ms)).max().unwrap_or(0);
    lane.detail = format!("most {most}, longest wait {}", secs(longest));
    let bottom = HEIGHT - 1.0;
    lane.line(LABEL_W, bottom, LABEL_W + PLOT_W, bottom, "baseline");
    lane.text(LABEL_W + PLOT_W + 3.0, TOP + 8.0, "axis", "start", most.max(1).to_string());
    let unit = (HEIGHT - TOP - 2.0) / most.max(1) as f64;
    // Each sample holds until the next one (the observer records changes), the last one until
    // observation ended.
    let ends = samples.iter().skip(1).map(|(at, _, _)| *at).chain(std::iter::once(ctx.observed_until));
    for (&(from, pools, down), to) in samples.iter().zip(ends) {
        let (x, w) = (ctx.scale.x(from), ctx.scale.width(from, to.max(from)).max(1.0));
        match pools {
            _ if down => {
                let title = format!("{}–{}: PgBouncer's console did not answer", secs(from), secs(to));
                lane.rect(x, 0.0, w, HEIGHT, "pooler-down", Some(title));
            }
            Some(p) => {
                let title = format!(
                    "{}–{}: clients {} active, {} waiting (longest {}); servers {} active, {} idle, {} used, {} \
                     tested, {} logging in",
                    secs(from),
                    secs(to),
                    p.cl_active,
                    p.cl_waiting,
                    secs(p.maxwait_ms),
                    p.sv_active,
                    p.sv_idle,
                    p.sv_used,
                    p.sv_tested,
                    p.sv_login
                );
                if p.cl_waiting > 0 {
                    let h = p.cl_waiting as f64 * unit;
                    lane.rect(x, bottom - h, w, h, "pooler-waiting", Some(title.clone()));
                }
                if p.sv_login > 0 {
                    lane.rect(x, 0.0, w, 3.0, "pooler-login", Some(title));
                }
            }
            None => {}
        }
    }
    vec![lane]
}

#[cfg(test)]
mod tests {
    use crate::report::html::render_html;
    use crate::report::terminal::tests::sample;
    use crate::timeline::{Event, EventKind, PoolerPools, Timeline};

    fn pools(waiting: i64, login: i64) -> EventKind {
        let line = PoolerPools {
            cl_active: 2,
            cl_waiting: waiting,
            sv_active: 0,
            sv_idle: 1,
            sv_used: 0,
            sv_tested: 0,
            sv_login: login,
            maxwait_ms: 1_500,
        };
        EventKind::Pooler { database: "postgres".into(), pools: Some(line), stats: None, error: None }
    }

    #[test]
    fn the_pooler_lane_shows_waiting_clients_logins_and_console_gaps() {
        let down = EventKind::Pooler { database: "postgres".into(), pools: None, stats: None, error: Some("x".into()) };
        let events = vec![
            Event { at: 1_000, kind: pools(0, 0) },
            Event { at: 2_000, kind: pools(3, 1) },
            Event { at: 3_000, kind: down },
            Event { at: 4_000, kind: pools(0, 0) },
        ];
        let report = crate::report::RunReport { timeline: Timeline::from_events(events), ..sample() };
        let html = render_html(&report);
        let lane = html.split("data-kind=\"pooler\"").nth(1).expect("a pooler lane").split("</g>").next().unwrap();
        assert_eq!(lane.matches("<rect class=\"pooler-waiting\"").count(), 1, "{lane}");
        assert_eq!(lane.matches("<rect class=\"pooler-login\"").count(), 1, "{lane}");
        assert_eq!(lane.matches("<rect class=\"pooler-down\"").count(), 1, "{lane}");
        assert!(lane.contains("3 waiting (longest 1.5s)"), "{lane}");
        assert!(html.contains("PgBouncer clients waiting"));
        assert!(!render_html(&sample()).contains("data-kind=\"pooler\""), "no lane without a pooler");
    }
}
