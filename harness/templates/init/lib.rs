//! Written by `pgdrill init`: this crate holds failover drills; they are in `drills/` and run as
//! the `drills` test target (`cargo nextest run --test drills`).
