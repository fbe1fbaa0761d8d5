//! Attach mode on a Citus cluster pgdrill did not start: `pgdrill compose` writes the
//! citus-worker-switchover topology (a coordinator group and two worker groups, each its own
//! Patroni cluster) and its cluster file, Debian's docker-compose starts it under a project of
//! the test's own, and `pgdrill run --cluster` drills a worker group's switchover through the
//! cluster file's executor — with the same checks as when pgdrill starts the containers
//! (pg_dist_node names the new primary, group 1's writes pause and resume without errors, no
//! acknowledged write lost). The workload's table is distributed in the cluster file's schema
//! and dropped with it; the user's own table is untouched; pgdrill creates no container.
mod common;

use std::process::Command;
use std::time::Duration;

use common::{attached_drill, block_on, compose_scenario, ensure_named_images, run, text, wait_leader, Composed};
use pgdrill::cluster::load_cluster_file;
use pgdrill::runtime::images::ImageName;

/// Ports the citus-worker-switchover topology publishes: etcd, 6 members x 2, HAProxy x 2.
const PORTS: u16 = 15;
const SCENARIO: &str = "scenarios/citus-worker-switchover.yaml";

/// Runs `sql` on `dsn` (the client DSN: the coordinator, through HAProxy) as the superuser.
async fn query(dsn: &str, password: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    let mut config: tokio_postgres::Config = dsn.parse().expect("client_dsn");
    config.password(password).connect_timeout(Duration::from_secs(5));
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("connect through client_dsn");
    tokio::spawn(connection);
    client.query(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn attach_mode_drills_a_citus_worker_switchover_on_a_compose_cluster() {
    ensure_named_images(&[ImageName::Etcd, ImageName::CitusStandin, ImageName::Haproxy]);
    let composed = compose_scenario(SCENARIO, "attach-citus", PORTS, 11);
    let mut mine = composed.cluster_file_text();
    let Composed { dir, project, .. } = composed;
    mine.push_str("workload: {schema: pgdrill_drills}\n");
    let cluster_file = dir.join("cluster.yaml");
    std::fs::write(&cluster_file, &mine).expect("write cluster.yaml");

    run(project.compose().args(["up", "-d"]));
    let cluster = load_cluster_file(&cluster_file).unwrap_or_else(|e| panic!("{e}"));
    // Each Citus group is a Patroni cluster of its own: a leader and both members running in each.
    for group in 0..=2u32 {
        let member = cluster.members.iter().find(|m| m.value.group.as_ref().map(|g| g.value) == Some(group));
        let rest = &member.unwrap_or_else(|| panic!("a member of group {group}")).value.patroni.value;
        block_on(wait_leader(rest, 2, Duration::from_secs(180)));
    }
    let dsn = cluster.client_dsn.value.clone();
    let password = cluster.superuser.value.password(&dir).expect("the superuser password file");
    // The user's own distributed table, which pgdrill must never touch.
    let user_table = "SELECT count(*)::text || ' rows, md5 ' || md5(string_agg(id || ':' || item, ',' ORDER BY id)) \
                      FROM public.user_orders";
    block_on(async {
        query(&dsn, &password, "DROP TABLE IF EXISTS public.user_orders").await;
        query(&dsn, &password, "CREATE TABLE public.user_orders (id int PRIMARY KEY, item text NOT NULL)").await;
        query(&dsn, &password, "SELECT create_distributed_table('public.user_orders', 'id')").await;
        query(&dsn, &password, "INSERT INTO public.user_orders SELECT i, 'order ' || i FROM generate_series(1, 200) i")
            .await;
    });
    let user_before: String = block_on(query(&dsn, &password, user_table))[0].get(0);
    let containers_before = text(
        &run(Command::new("docker")
            .args(["ps", "-aq", "--filter"])
            .arg(format!("label=com.docker.compose.project={}", project.name)))
        .stdout,
    );
    assert_eq!(containers_before.split_whitespace().count(), 8, "etcd, 6 members, HAProxy");

    let reports = dir.join("reports");
    let drill = attached_drill(&cluster_file, SCENARIO, &reports);
    assert_eq!(drill.code, 0, "the attached worker switchover failed:\n{}", drill.stdout);
    assert_eq!(drill.report["passed"], true, "{}", drill.report["verdicts"]);
    let verdicts = drill.report["verdicts"].as_array().expect("verdicts");
    for check in ["new_leader", "pg_dist_node", "write_pause", "single_primary", "no_acked_write_lost"] {
        let found = verdicts.iter().find(|v| v["check"].as_str().unwrap_or("").starts_with(check));
        let found = found.unwrap_or_else(|| panic!("no {check} verdict in {verdicts:?}"));
        assert_eq!(found["status"], "pass", "{found}");
    }
    let switchovers = drill.actions("POST /switchover");
    assert_eq!(switchovers.len(), 1, "{:?}", drill.audit);
    assert!(switchovers[0]["target"].as_str().unwrap_or("").starts_with("worker1-"), "{:?}", switchovers[0]);
    // The workload's rows went to both worker groups' shards of a table distributed in
    // pgdrill's schema, which was dropped with the schema at the end.
    let events = drill.report["timeline"]["events"].as_array().expect("events");
    for group in [1, 2] {
        let acked = events.iter().filter(|e| e["type"] == "write" && e["group"] == group).count();
        assert!(acked > 100, "group {group}: {acked} writes");
    }
    let drops = drill.actions("drop-table");
    assert_eq!(drops.len(), 1, "{:?}", drill.audit);
    assert_eq!(drops[0]["command"], "pgdrill_drills.pgdrill_writes");
    assert!(drops[0]["result"].as_str().unwrap_or("").contains("and schema pgdrill_drills"), "{:?}", drops[0]);
    let left = block_on(query(
        &dsn,
        &password,
        "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'pgdrill_drills') \
              + (SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE '%pgdrill_writes%')",
    ));
    assert_eq!(left[0].get::<_, i64>(0), 0, "pgdrill's schema or distributed table left behind");
    // On every worker member too (the primaries dropped them; the replicas replayed it).
    for member in cluster.members.iter().filter(|m| m.value.group.as_ref().is_some_and(|g| g.value > 0)) {
        let dsn = format!("postgresql://postgres@{}/postgres", member.value.postgres.value);
        let sql = "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgdrill_drills'";
        let left: i64 = block_on(query(&dsn, &password, sql))[0].get(0);
        assert_eq!(left, 0, "pgdrill's schema left on {}", member.value.name.value);
    }
    let user_after: String = block_on(query(&dsn, &password, user_table))[0].get(0);
    assert_eq!(user_after, user_before, "the user's table changed");

    // pgdrill created no container: the project's are all there are, none with pgdrill's label.
    let run_id = drill.report["run_id"].as_str().expect("run id");
    let mine =
        run(Command::new("docker").args(["ps", "-aq", "--filter"]).arg(format!("label=org.pgdrill.run={run_id}")));
    assert!(text(&mine.stdout).trim().is_empty(), "run {run_id} created containers");
    drop(project);
    let _ = std::fs::remove_dir_all(&dir);
}
