//! The stylesheet of every page, inline (the page fetches nothing).

/// Colours are CSS variables so the SVG and the HTML legend share them.
pub(super) const CSS: &str = r#"
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
.pooler-waiting { fill: var(--nack); fill-opacity: .7; background: var(--nack); } .pooler-login { fill: var(--pause); background: var(--pause); }
.pooler-down { fill: var(--fault); fill-opacity: .18; background: var(--fault); }
svg .citus-tx.demoting { fill: var(--demoted); fill-opacity: .45; stroke: var(--tx); stroke-dasharray: 3 2; }
svg .tx-guide { fill: var(--tx); fill-opacity: .07; }
table.coverage td.cell { text-align: center; color: var(--firing); }
table.coverage tr.absent { background: #fffaf0; } table.coverage tr.absent td.cell { color: var(--demoted); }
table.coverage tr.inactive td.cell { color: #718096; }
table.fault-matrix td.m-blind { color: #fff; background: var(--down); font-weight: bold; }
table.fault-matrix td.m-absent { color: var(--demoted); } table.fault-matrix td.m-could, table.fault-matrix td.m-unwatched { color: #718096; }
ul.blind-spots { font-size: 13px; }
ul.scaled { font-family: ui-monospace, monospace; font-size: 12px; margin: 4px 0; }
footer { margin-top: 24px; color: #a0aec0; font-size: 12px; }
"#;
