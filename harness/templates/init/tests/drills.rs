//! Written by `pgdrill init`: one test per scenario file of `drills/`, each a real drill against
//! real containers (`cargo nextest run --test drills`). Without a Docker engine they are
//! skipped with the reason, never passed; `PGDRILL_REQUIRE_DOCKER=1` makes that a failure.
//! What each test checks: the documentation of `pgdrill::testing` (`cargo doc --open -p pgdrill`).
fn main() {
    pgdrill::testing::Drills::new(concat!(env!("CARGO_MANIFEST_DIR"), "/drills"))
        .reports_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/target/pgdrill-reports"))
        .run();
}
