/*
 * pgdrill Citus stand-in -- this is NOT Citus.
 *
 * pgdrill's hermetic test image needs a PostgreSQL extension called `citus` so that Patroni, run in
 * its Citus mode, finds what it expects (`shared_preload_libraries = 'citus'`, `CREATE EXTENSION
 * citus`, pg_dist_node, citus_update_node(), ...). Real Citus cannot be installed where pgdrill's
 * own tests run, so this stand-in implements, in SQL, only the small part of Citus's interface that
 * Patroni and pgdrill use (see citus--12.1-standin.sql). It contains no Citus code.
 *
 * This file only has to make `shared_preload_libraries = 'citus'` load: the magic block is all it
 * holds. It deliberately reserves no GUC prefix, so placeholders such as `citus.local_hostname`
 * (set by Patroni) and `citus.shard_count` (read by the stand-in) stay plain placeholders.
 */
#include "postgres.h"
#include "fmgr.h"

PG_MODULE_MAGIC;
