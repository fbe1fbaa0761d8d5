-- pgdrill Citus stand-in -- this is NOT Citus.
--
-- A hermetic replacement for the Citus extension, for pgdrill's own tests only (real Citus is in
-- no package repository reachable there; images/patroni-citus/ installs the real one). It is our
-- own SQL, written against Citus's documented interface; it contains no Citus code. It implements
-- the part of Citus that Patroni's Citus mode (patroni/postgresql/mpp/citus.py) and pgdrill use:
--
--   catalog   pg_dist_node (Citus 12 columns), pg_dist_authinfo, pg_dist_poolinfo (unused),
--             pg_dist_partition, pg_dist_shard, pg_dist_placement, pg_dist_colocation,
--             pg_dist_shard_placement (view), the noderole enum and Citus's sequences
--   nodes     citus_set_coordinator_host, citus_add_node, citus_update_node (force, lock_cooldown),
--             citus_remove_node, citus_get_active_worker_nodes
--   tables    create_distributed_table (hash only), get_shard_id_for_distribution_column,
--             column_to_column_name, citus_version
--
-- How a distributed table works here (Citus keeps one table per shard on the workers; we do not):
--   * create_distributed_table('t', 'col') creates table t (same columns, NOT NULL, PRIMARY KEY,
--     UNIQUE and CHECK constraints) on the primary of every worker group registered in
--     pg_dist_node at that moment, records shards (hash ranges over int4) and their placements
--     (round robin over the worker groups, co-located with an existing table of the same shard
--     count and column type unless colocate_with => 'none'), moves the local table aside to
--     citus_standin.<t>_standin_<oid> and puts a view named t in its place. Rows already in t are
--     moved to the workers.
--   * INSERT into the view: an INSTEAD OF trigger hashes the distribution column with the type's
--     default hash function, finds the shard and its group, locks the shard (see Locking), reads
--     that group's primary from pg_dist_node, and forwards the row over dblink (a per-session
--     connection per group) to the worker, then returns the row (so "INSERT 0 1" and RETURNING
--     work).
--   * SELECT from the view: each worker group's table, read through its primary the same way.
--   * TRUNCATE of the view (citus.c's utility hook calls truncate_distributed()): the table is
--     truncated on the primary of every group holding a placement (in the coordinator's
--     distributed transaction inside a transaction block, each committing at once outside one).
--   * DROP TABLE of the view (the hook calls drop_distributed()): the table is dropped on those
--     primaries, with its shards, placements, view and local table; DROP SCHEMA is repeated on
--     every worker group's primary after the coordinator dropped the schema (as Citus propagates
--     it). DROP SCHEMA ... CASCADE of a schema holding a distributed table leaves its metadata
--     rows behind (Citus cleans them up; the stand-in does not).
--   * Distributed transactions (citus.c has the details): inside a transaction block every worker
--     command joins the coordinator's transaction (BEGIN on the worker first); at its commit one
--     participant gets COMMIT, several get PREPARE TRANSACTION (with a pg_dist_transaction record)
--     and, after the local commit, COMMIT PREPARED; recover_prepared_transactions() and the
--     maintenance daemon finish what a failure left prepared. A statement outside a transaction
--     block is forwarded as before: each worker command commits there at once (Citus would use
--     two-phase commit for a multi-shard statement; the stand-in's only such statements are
--     TRUNCATE and DROP). Read-only participants are prepared too (Citus commits them).
--   * Not supported: UPDATE, DELETE, COPY TO, ON CONFLICT on distributed tables, other
--     distribution types, reference tables, rebalancing, metadata sync to workers (only the
--     coordinator's pg_dist_node is maintained and used), savepoints in distributed transactions.
--
-- Locking (the point of the exercise), modelled on Citus's shard metadata locks:
--   * a forwarded write first takes its shard's lock in shared mode -- a transaction-level advisory
--     lock (1128879188, shardid), as Citus takes ShareLock on the shard's metadata lock before it
--     looks up the placement -- then reads where the shard's group's primary is and connects there.
--     SELECTs take no lock, as in Citus.
--   * citus_update_node() of a primary node first takes the locks of every shard placed in its group,
--     exclusively, in shard id order (Citus: AccessExclusiveLock via LockShardsInWorkerPlacementList).
--     So it waits for the writes in flight to that group, and while its transaction is open (Patroni
--     keeps one open across a worker switchover) new writes to that group queue behind it -- they do
--     not fail -- and, once it commits, read the new row and go to the new primary. Writes to other
--     groups lock other shards and never wait for it. Secondary nodes' rows and groups without
--     shards (the coordinator's) take no lock.
--   * force => true, lock_cooldown => ms (Citus: a "lock acquire helper" background worker): a
--     helper session is started that, lock_cooldown ms after it started, terminates every backend
--     in pg_blocking_pids() of the waiting citus_update_node, every 100 ms, until the locks are
--     taken. Locks that are free are taken without a helper. If no helper can be started, the
--     locks are awaited with lock_timeout = lock_cooldown (Citus's fallback).
--   * a write's connection attempt to a worker waits up to citus.node_connection_timeout (30 s by
--     default, as in Citus) for the TCP handshake, interruptibly (citus.c), holding its shard lock
--     all the while. This is what makes a worker's death slow on Citus: writes that began to
--     connect to the dead primary while its name still resolved hang in connect() (no RST from a
--     host that is gone), hold their shard locks, and citus_update_node(force => true) has to wait
--     out lock_cooldown before the helper terminates them. A switchover does not: the old primary
--     is alive when Patroni points the row at '<host>-demoted', so the writes in flight finish
--     within milliseconds.
--
-- Requirements: `citus` in shared_preload_libraries (checked, like Citus), the contrib library
-- dblink (part of PostgreSQL; its functions are declared privately in schema citus_standin, so no
-- CREATE EXTENSION dblink is needed), the same superuser credentials on every node and, for the
-- workers' passwords, the row Patroni puts in pg_dist_authinfo (also used by citus_update_node's helper
-- session, which connects to this server over its first Unix socket directory, else localhost).
-- Writers must be superusers (they read pg_dist_authinfo).

\echo Use "CREATE EXTENSION citus" to load this file (pgdrill Citus stand-in). \quit

DO $check$
BEGIN
    IF NOT 'citus' = ANY (pg_catalog.regexp_split_to_array(
            pg_catalog.replace(pg_catalog.current_setting('shared_preload_libraries'), '"', ''), '\s*,\s*')) THEN
        RAISE EXCEPTION 'Citus can only be loaded via shared_preload_libraries'
            USING HINT = 'Add citus to shared_preload_libraries configuration variable in postgresql.conf '
                         '(this is the pgdrill Citus stand-in, not Citus).';
    END IF;
END
$check$;

-- Internals: helper functions, the private dblink declarations and the local tables moved aside.
CREATE SCHEMA citus_standin;
COMMENT ON SCHEMA citus_standin IS 'pgdrill Citus stand-in (NOT Citus): internals';

-- Citus's catalog: created in citus_standin, then moved to pg_catalog (where only existing
-- relations may be moved without allow_system_table_mods).
CREATE TYPE pg_catalog.noderole AS ENUM ('primary', 'secondary', 'unavailable');

CREATE SEQUENCE citus_standin.pg_dist_groupid_seq MINVALUE 1 MAXVALUE 4294967296;
CREATE SEQUENCE citus_standin.pg_dist_node_nodeid_seq MINVALUE 1 MAXVALUE 4294967296;
CREATE SEQUENCE citus_standin.pg_dist_shardid_seq MINVALUE 102008 NO CYCLE;
CREATE SEQUENCE citus_standin.pg_dist_placement_placementid_seq MINVALUE 1;
CREATE SEQUENCE citus_standin.pg_dist_colocationid_seq MINVALUE 1 MAXVALUE 4294967296;
ALTER SEQUENCE citus_standin.pg_dist_groupid_seq SET SCHEMA pg_catalog;
ALTER SEQUENCE citus_standin.pg_dist_node_nodeid_seq SET SCHEMA pg_catalog;
ALTER SEQUENCE citus_standin.pg_dist_shardid_seq SET SCHEMA pg_catalog;
ALTER SEQUENCE citus_standin.pg_dist_placement_placementid_seq SET SCHEMA pg_catalog;
ALTER SEQUENCE citus_standin.pg_dist_colocationid_seq SET SCHEMA pg_catalog;

-- Same columns, in the same order, as Citus 12's pg_dist_node.
CREATE TABLE citus_standin.pg_dist_node (
    nodeid int NOT NULL DEFAULT pg_catalog.nextval('pg_catalog.pg_dist_node_nodeid_seq') PRIMARY KEY,
    groupid int NOT NULL DEFAULT pg_catalog.nextval('pg_catalog.pg_dist_groupid_seq'),
    nodename text NOT NULL,
    nodeport int NOT NULL DEFAULT 5432,
    noderack text NOT NULL DEFAULT 'default',
    hasmetadata bool NOT NULL DEFAULT false,
    isactive bool NOT NULL DEFAULT true,
    noderole pg_catalog.noderole NOT NULL DEFAULT 'primary',
    nodecluster name NOT NULL DEFAULT 'default',
    metadatasynced bool DEFAULT false,
    shouldhaveshards bool NOT NULL DEFAULT true,
    UNIQUE (nodename, nodeport)
);
ALTER TABLE citus_standin.pg_dist_node SET SCHEMA pg_catalog;

CREATE TABLE citus_standin.pg_dist_authinfo (
    nodeid int NOT NULL,
    rolename name NOT NULL,
    authinfo text NOT NULL
);
CREATE UNIQUE INDEX pg_dist_authinfo_identification_index
    ON citus_standin.pg_dist_authinfo (rolename, nodeid DESC);
ALTER TABLE citus_standin.pg_dist_authinfo SET SCHEMA pg_catalog;

-- Present because Citus has it; the stand-in's connections do not read it.
CREATE TABLE citus_standin.pg_dist_poolinfo (
    nodeid int PRIMARY KEY,
    poolinfo text NOT NULL
);
ALTER TABLE citus_standin.pg_dist_poolinfo SET SCHEMA pg_catalog;

CREATE TABLE citus_standin.pg_dist_colocation (
    colocationid int NOT NULL PRIMARY KEY,
    shardcount int NOT NULL,
    replicationfactor int NOT NULL,
    distributioncolumntype oid NOT NULL,
    distributioncolumncollation oid NOT NULL DEFAULT 0
);
ALTER TABLE citus_standin.pg_dist_colocation SET SCHEMA pg_catalog;

-- partkey: Citus stores a serialized Var node; the stand-in stores the column name (read it with
-- column_to_column_name(logicalrelid, partkey), which works with both).
CREATE TABLE citus_standin.pg_dist_partition (
    logicalrelid regclass NOT NULL,
    partmethod "char" NOT NULL,
    partkey text,
    colocationid int NOT NULL DEFAULT 0,
    repmodel "char" NOT NULL DEFAULT 'c',
    autoconverted boolean DEFAULT false
);
CREATE UNIQUE INDEX pg_dist_partition_logical_relid_index
    ON citus_standin.pg_dist_partition (logicalrelid);
ALTER TABLE citus_standin.pg_dist_partition SET SCHEMA pg_catalog;

CREATE TABLE citus_standin.pg_dist_shard (
    logicalrelid regclass NOT NULL,
    shardid int8 NOT NULL,
    shardstorage "char" NOT NULL,
    shardminvalue text,
    shardmaxvalue text
);
CREATE UNIQUE INDEX pg_dist_shard_shardid_index ON citus_standin.pg_dist_shard (shardid);
CREATE INDEX pg_dist_shard_logical_relid_index ON citus_standin.pg_dist_shard (logicalrelid);
ALTER TABLE citus_standin.pg_dist_shard SET SCHEMA pg_catalog;

CREATE TABLE citus_standin.pg_dist_placement (
    placementid bigint NOT NULL DEFAULT pg_catalog.nextval('pg_catalog.pg_dist_placement_placementid_seq'),
    shardid bigint NOT NULL,
    shardstate int NOT NULL,
    shardlength bigint NOT NULL,
    groupid int NOT NULL
);
CREATE UNIQUE INDEX pg_dist_placement_placementid_index ON citus_standin.pg_dist_placement (placementid);
CREATE INDEX pg_dist_placement_groupid_index ON citus_standin.pg_dist_placement (groupid);
CREATE INDEX pg_dist_placement_shardid_index ON citus_standin.pg_dist_placement (shardid);
ALTER TABLE citus_standin.pg_dist_placement SET SCHEMA pg_catalog;

-- Distributed transactions' commit records (Citus 8+; Citus 13.1 adds outer_xid, unused here): a
-- row per prepared participant, written in the coordinator's own transaction, so it exists exactly
-- when the coordinator committed. Read by recover_prepared_transactions().
CREATE TABLE citus_standin.pg_dist_transaction (
    groupid int NOT NULL,
    gid text NOT NULL,
    UNIQUE (groupid, gid)
);
CREATE INDEX pg_dist_transaction_group_index ON citus_standin.pg_dist_transaction (groupid);
ALTER TABLE citus_standin.pg_dist_transaction SET SCHEMA pg_catalog;

-- Placements with the address of their group's primary, as in Citus.
CREATE VIEW citus_standin.pg_dist_shard_placement AS
SELECT pl.shardid, pl.shardstate, pl.shardlength, n.nodename, n.nodeport::bigint AS nodeport, pl.placementid
FROM pg_catalog.pg_dist_placement pl
JOIN pg_catalog.pg_dist_node n ON n.groupid = pl.groupid AND n.noderole = 'primary' AND n.nodecluster = 'default';
ALTER VIEW citus_standin.pg_dist_shard_placement SET SCHEMA pg_catalog;

GRANT SELECT ON pg_catalog.pg_dist_node, pg_catalog.pg_dist_partition, pg_catalog.pg_dist_shard,
    pg_catalog.pg_dist_placement, pg_catalog.pg_dist_colocation, pg_catalog.pg_dist_shard_placement TO PUBLIC;
GRANT SELECT ON pg_catalog.pg_dist_groupid_seq, pg_catalog.pg_dist_node_nodeid_seq, pg_catalog.pg_dist_shardid_seq,
    pg_catalog.pg_dist_placement_placementid_seq, pg_catalog.pg_dist_colocationid_seq TO PUBLIC;
REVOKE ALL ON pg_catalog.pg_dist_authinfo, pg_catalog.pg_dist_poolinfo, pg_catalog.pg_dist_transaction FROM PUBLIC;

-- What the stand-in needs to route a distributed table (logicalrelid is the view).
CREATE TABLE citus_standin.dist_table (
    logicalrelid regclass PRIMARY KEY,
    shadowrelid regclass NOT NULL UNIQUE,
    remote_name text NOT NULL,
    distcol name NOT NULL,
    distcol_type regtype NOT NULL,
    hash_type regtype NOT NULL,
    hash_function regproc NOT NULL,
    coldefs text NOT NULL
);
COMMENT ON TABLE citus_standin.dist_table IS
    'pgdrill Citus stand-in: how each distributed table (a view) is routed; shadowrelid is the local table moved aside';

-- dblink (contrib, shipped with PostgreSQL) declared privately: CREATE EXTENSION cannot nest, and
-- Patroni runs a plain CREATE EXTENSION citus.
CREATE FUNCTION citus_standin.dblink_connect(text, text) RETURNS text
    AS '$libdir/dblink', 'dblink_connect' LANGUAGE C STRICT PARALLEL RESTRICTED;
CREATE FUNCTION citus_standin.dblink_disconnect(text) RETURNS text
    AS '$libdir/dblink', 'dblink_disconnect' LANGUAGE C STRICT PARALLEL RESTRICTED;
CREATE FUNCTION citus_standin.dblink_send_query(text, text) RETURNS int4
    AS '$libdir/dblink', 'dblink_send_query' LANGUAGE C STRICT PARALLEL RESTRICTED;
CREATE FUNCTION citus_standin.dblink_is_busy(text) RETURNS int4
    AS '$libdir/dblink', 'dblink_is_busy' LANGUAGE C STRICT PARALLEL RESTRICTED;
CREATE FUNCTION citus_standin.dblink_get_result(text, bool) RETURNS SETOF record
    AS '$libdir/dblink', 'dblink_get_result' LANGUAGE C STRICT PARALLEL RESTRICTED;
CREATE FUNCTION citus_standin.dblink_get_connections() RETURNS text[]
    AS '$libdir/dblink', 'dblink_get_connections' LANGUAGE C PARALLEL RESTRICTED;
CREATE FUNCTION citus_standin.dblink_cancel_query(text) RETURNS text
    AS '$libdir/dblink', 'dblink_cancel_query' LANGUAGE C STRICT PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION citus_standin.dblink_connect(text, text), citus_standin.dblink_disconnect(text),
    citus_standin.dblink_send_query(text, text), citus_standin.dblink_is_busy(text),
    citus_standin.dblink_get_result(text, bool), citus_standin.dblink_get_connections(),
    citus_standin.dblink_cancel_query(text) FROM PUBLIC;

-- Waits, interruptibly, until host:port accepts a TCP connection (at most timeout_ms, the name
-- lookup included) and returns the numeric address that did; errors like a failed Citus connection
-- attempt otherwise. In citus.c, the stand-in's only C: dblink_connect() cannot be interrupted on
-- PostgreSQL 15.
CREATE FUNCTION citus_standin.wait_for_node(host text, port int, timeout_ms int) RETURNS text
    AS 'MODULE_PATHNAME', 'citus_standin_wait_for_node' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION citus_standin.wait_for_node(text, int, int) FROM PUBLIC;

---------------------------------------------------------------------------------------------------
-- Node metadata
---------------------------------------------------------------------------------------------------

-- Serializes node additions and removals (citus_update_node relies on the shard locks and on its
-- UPDATE's row lock instead). Advisory key (1128879187 = 'CITS', -1); shard locks use
-- (1128879188, shardid), see shard_lock_key().
CREATE FUNCTION citus_standin.lock_node_metadata() RETURNS void
LANGUAGE sql AS $$ SELECT pg_catalog.pg_advisory_xact_lock(1128879187, -1) $$;

CREATE FUNCTION citus_standin.add_node(p_name text, p_port int, p_group int, p_role pg_catalog.noderole,
                                       p_cluster name)
RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id int;
    v_group int := p_group;
BEGIN
    PERFORM citus_standin.lock_node_metadata();
    SELECT n.nodeid INTO v_id FROM pg_catalog.pg_dist_node n WHERE n.nodename = p_name AND n.nodeport = p_port;
    IF FOUND THEN
        RETURN v_id;  -- as Citus: adding a known node returns its id
    END IF;
    IF v_group = -1 THEN
        IF p_role <> 'primary' THEN
            RAISE EXCEPTION 'a % node needs the group of its primary', p_role;
        END IF;
        v_group := pg_catalog.nextval('pg_catalog.pg_dist_groupid_seq');
    ELSIF p_role = 'primary' AND EXISTS (
            SELECT 1 FROM pg_catalog.pg_dist_node n
            WHERE n.groupid = v_group AND n.noderole = 'primary' AND n.nodecluster = p_cluster) THEN
        RAISE EXCEPTION 'group % already has a primary node', v_group
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    INSERT INTO pg_catalog.pg_dist_node
        (groupid, nodename, nodeport, hasmetadata, isactive, noderole, nodecluster, metadatasynced, shouldhaveshards)
    VALUES (v_group, p_name, p_port, p_role = 'primary', true, p_role, p_cluster, p_role = 'primary', v_group <> 0)
    RETURNING nodeid INTO v_id;
    RETURN v_id;
END
$$;

-- The second key of shard shardid's lock, (1128879188, key): shard ids are bigint, advisory keys
-- int4 (the stand-in's shard ids start at 102008 and stay far below 2^31).
CREATE FUNCTION citus_standin.shard_lock_key(p_shard bigint) RETURNS int
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT (p_shard % 2147483648)::int $$;

-- citus_update_node's lock acquire helper, run in a session of its own (started by
-- start_lock_helper): waits out p_cooldown ms, then every 100 ms terminates the backends that
-- block backend p_pid (pg_blocking_pids: holders of conflicting locks and conflicting waiters
-- ahead of it), until stop_lock_helper cancels it (which ends it normally) or p_pid has left its
-- transaction.
CREATE FUNCTION citus_standin.lock_acquire_helper(p_pid int, p_cooldown int) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_pid int;
    v_signalled bool;
    v_terminated int[] := '{}';
BEGIN
    RAISE LOG 'citus stand-in: lock acquire helper started for backend % (cooldown % ms)', p_pid, p_cooldown;
    PERFORM pg_catalog.pg_sleep(greatest(p_cooldown, 0) / 1000.0);
    -- pg_locks is read afresh on every call: a backend in a transaction always holds a lock.
    WHILE EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE l.pid = p_pid) LOOP
        FOR v_pid IN SELECT DISTINCT b FROM pg_catalog.unnest(pg_catalog.pg_blocking_pids(p_pid)) AS b LOOP
            v_signalled := pg_catalog.pg_terminate_backend(v_pid);
            IF v_signalled AND NOT v_pid = ANY (v_terminated) THEN
                v_terminated := v_terminated || v_pid;
                RAISE LOG 'citus stand-in: terminating backend %, which blocks citus_update_node in backend %',
                    v_pid, p_pid;
            END IF;
        END LOOP;
        PERFORM pg_catalog.pg_sleep(0.1);
    END LOOP;
EXCEPTION WHEN query_canceled THEN
    -- stop_lock_helper: the locks are taken.
    RAISE LOG 'citus stand-in: lock acquire helper for backend % stopped', p_pid;
END
$$;
REVOKE ALL ON FUNCTION citus_standin.lock_acquire_helper(int, int) FROM PUBLIC;

-- Starts lock_acquire_helper(this backend, p_cooldown) over dblink on a connection to this server;
-- returns the connection's name, or NULL when no helper could be started.
CREATE FUNCTION citus_standin.start_lock_helper(p_cooldown int) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_conn text := 'citus_standin/lock_helper';
    v_socket text := pg_catalog.btrim(
        pg_catalog.split_part(pg_catalog.current_setting('unix_socket_directories'), ',', 1));
BEGIN
    PERFORM citus_standin.forget(v_conn);
    PERFORM citus_standin.dblink_connect(v_conn, pg_catalog.format(
        'host=%s port=%s dbname=%s user=%s application_name=%s options=%s',
        citus_standin.conninfo_value(coalesce(nullif(v_socket, ''), 'localhost')),
        pg_catalog.current_setting('port'),
        citus_standin.conninfo_value(pg_catalog.current_database()),
        citus_standin.conninfo_value(current_user::text),
        citus_standin.conninfo_value('citus_standin lock helper for ' || pg_catalog.pg_backend_pid()),
        citus_standin.conninfo_value('-c statement_timeout=0 -c lock_timeout=0'))
        || coalesce(' ' || (SELECT a.authinfo FROM pg_catalog.pg_dist_authinfo a
                            WHERE a.rolename = current_user AND a.nodeid = 0), ''));
    IF citus_standin.dblink_send_query(v_conn, pg_catalog.format(
            'SELECT citus_standin.lock_acquire_helper(%s, %s)', pg_catalog.pg_backend_pid(), p_cooldown)) <> 1 THEN
        PERFORM citus_standin.forget(v_conn);
        RETURN NULL;
    END IF;
    RETURN v_conn;
EXCEPTION WHEN OTHERS THEN
    PERFORM citus_standin.forget(v_conn);
    RETURN NULL;
END
$$;

-- Stops the helper started by start_lock_helper (cancels its query, closes its connection).
CREATE FUNCTION citus_standin.stop_lock_helper(p_conn text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_conn IS NULL THEN
        RETURN;
    END IF;
    BEGIN
        PERFORM citus_standin.dblink_cancel_query(p_conn);
    EXCEPTION WHEN OTHERS THEN
        NULL;  -- the helper's session is gone: nothing left to stop
    END;
    PERFORM citus_standin.forget(p_conn);
END
$$;

-- Takes, exclusively and in shard id order, the locks of every shard placed in group p_group, as
-- citus_update_node does for a primary node. Free locks are taken at once; at the first busy one,
-- with p_force, a lock acquire helper is started that terminates the blockers after p_cooldown ms
-- (without one, the rest is awaited with lock_timeout = p_cooldown, to the end of the transaction,
-- as Citus does); without p_force the locks are awaited for as long as it takes.
CREATE FUNCTION citus_standin.lock_group_shards(p_group int, p_force bool, p_cooldown int)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_keys int[];
    v_helper text;
    i int := 1;
BEGIN
    SELECT pg_catalog.array_agg(k ORDER BY k) INTO v_keys
    FROM (SELECT DISTINCT citus_standin.shard_lock_key(pl.shardid) AS k
          FROM pg_catalog.pg_dist_placement pl WHERE pl.groupid = p_group) s;
    WHILE i <= coalesce(pg_catalog.array_length(v_keys, 1), 0)
          AND pg_catalog.pg_try_advisory_xact_lock(1128879188, v_keys[i]) LOOP
        i := i + 1;
    END LOOP;
    IF i > coalesce(pg_catalog.array_length(v_keys, 1), 0) THEN
        RETURN;
    END IF;
    IF p_force THEN
        v_helper := citus_standin.start_lock_helper(p_cooldown);
        IF v_helper IS NULL THEN
            PERFORM pg_catalog.set_config('lock_timeout', greatest(p_cooldown, 1)::text || 'ms', true);
            RAISE WARNING 'could not start the lock acquire helper to terminate backends with conflicting locks; '
                          'waiting for the locks with lock_timeout = % ms instead (pgdrill Citus stand-in)', p_cooldown;
        END IF;
    END IF;
    BEGIN
        FOR j IN i .. pg_catalog.array_length(v_keys, 1) LOOP
            PERFORM pg_catalog.pg_advisory_xact_lock(1128879188, v_keys[j]);
        END LOOP;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        -- Waiting was cancelled (statement_timeout, a cancel, lock_timeout): no helper must outlive it.
        PERFORM citus_standin.stop_lock_helper(v_helper);
        RAISE;
    END;
    PERFORM citus_standin.stop_lock_helper(v_helper);
END
$$;

CREATE FUNCTION citus_standin.update_node(p_id int, p_name text, p_port int, p_force bool, p_cooldown int)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_same int;
    v_group int;
    v_role pg_catalog.noderole;
BEGIN
    SELECT n.nodeid INTO v_same FROM pg_catalog.pg_dist_node n WHERE n.nodename = p_name AND n.nodeport = p_port;
    IF FOUND THEN
        IF v_same = p_id THEN
            RETURN;  -- as Citus: updating a node to its own address changes (and locks) nothing
        END IF;
        RAISE EXCEPTION 'there is already another node with the specified hostname and port'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT n.groupid, n.noderole INTO v_group, v_role FROM pg_catalog.pg_dist_node n WHERE n.nodeid = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node % not found', p_id USING ERRCODE = 'no_data_found';
    END IF;
    -- As Citus: only a primary's shards are locked (reads and writes go to primaries).
    IF v_role = 'primary' THEN
        PERFORM citus_standin.lock_group_shards(v_group, p_force, p_cooldown);
    END IF;
    UPDATE pg_catalog.pg_dist_node n SET nodename = p_name, nodeport = p_port WHERE n.nodeid = p_id;
END
$$;

CREATE FUNCTION citus_standin.remove_node(p_name text, p_port int) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_node pg_catalog.pg_dist_node;
    v_shard bigint;
BEGIN
    PERFORM citus_standin.lock_node_metadata();
    SELECT * INTO v_node FROM pg_catalog.pg_dist_node n WHERE n.nodename = p_name AND n.nodeport = p_port;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'node at "%:%" does not exist', p_name, p_port;
    END IF;
    IF v_node.noderole = 'primary' THEN
        SELECT pl.shardid INTO v_shard FROM pg_catalog.pg_dist_placement pl WHERE pl.groupid = v_node.groupid LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'cannot remove or disable the node %:% because it contains the only shard placement for shard %',
                p_name, p_port, v_shard USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    END IF;
    DELETE FROM pg_catalog.pg_dist_node n WHERE n.nodeid = v_node.nodeid;
END
$$;

-- The public functions keep Citus's signatures (names, argument names, defaults); bodies are ours.
CREATE FUNCTION pg_catalog.citus_add_node(nodename text, nodeport integer, groupid integer DEFAULT -1,
                                          noderole pg_catalog.noderole DEFAULT 'primary',
                                          nodecluster name DEFAULT 'default')
RETURNS integer
LANGUAGE sql STRICT AS $$ SELECT citus_standin.add_node($1, $2, $3, $4, $5) $$;
COMMENT ON FUNCTION pg_catalog.citus_add_node(text, integer, integer, pg_catalog.noderole, name)
    IS 'pgdrill Citus stand-in: add node to the cluster';

CREATE FUNCTION pg_catalog.citus_update_node(node_id int, new_node_name text, new_node_port int,
                                             force bool DEFAULT false, lock_cooldown int DEFAULT 10000)
RETURNS void
LANGUAGE sql STRICT AS $$ SELECT citus_standin.update_node($1, $2, $3, $4, $5) $$;
COMMENT ON FUNCTION pg_catalog.citus_update_node(int, text, int, bool, int)
    IS 'pgdrill Citus stand-in: change the location of a node; writes to its group wait until the transaction ends; '
       'with force => true, backends still blocking it after lock_cooldown ms are terminated';

CREATE FUNCTION pg_catalog.citus_remove_node(nodename text, nodeport integer)
RETURNS void
LANGUAGE sql STRICT AS $$ SELECT citus_standin.remove_node($1, $2) $$;
COMMENT ON FUNCTION pg_catalog.citus_remove_node(text, integer)
    IS 'pgdrill Citus stand-in: remove node from the cluster';

CREATE FUNCTION pg_catalog.citus_set_coordinator_host(host text,
                                                      port integer DEFAULT pg_catalog.current_setting('port')::int,
                                                      node_role pg_catalog.noderole DEFAULT 'primary',
                                                      node_cluster name DEFAULT 'default')
RETURNS void
LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id int;
BEGIN
    IF $3 = 'primary' THEN
        SELECT n.nodeid INTO v_id FROM pg_catalog.pg_dist_node n
        WHERE n.groupid = 0 AND n.noderole = 'primary' AND n.nodecluster = $4;
        IF FOUND THEN
            PERFORM citus_standin.update_node(v_id, $1, $2, false, 10000);
            RETURN;
        END IF;
    END IF;
    PERFORM citus_standin.add_node($1, $2, 0, $3, $4);
END
$$;
COMMENT ON FUNCTION pg_catalog.citus_set_coordinator_host(text, integer, pg_catalog.noderole, name)
    IS 'pgdrill Citus stand-in: set the host and port of the coordinator';

CREATE FUNCTION pg_catalog.citus_get_active_worker_nodes(OUT node_name text, OUT node_port bigint)
RETURNS SETOF record
LANGUAGE sql STRICT AS $$
    SELECT n.nodename, n.nodeport::bigint FROM pg_catalog.pg_dist_node n
    WHERE n.groupid <> 0 AND n.noderole = 'primary' AND n.isactive AND n.nodecluster = 'default'
    ORDER BY n.groupid
$$;
COMMENT ON FUNCTION pg_catalog.citus_get_active_worker_nodes()
    IS 'pgdrill Citus stand-in: fetch set of active worker nodes';

REVOKE ALL ON FUNCTION pg_catalog.citus_add_node(text, integer, integer, pg_catalog.noderole, name),
    pg_catalog.citus_update_node(int, text, int, bool, int), pg_catalog.citus_remove_node(text, integer),
    pg_catalog.citus_set_coordinator_host(text, integer, pg_catalog.noderole, name) FROM PUBLIC;

CREATE FUNCTION pg_catalog.citus_version() RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'Citus 12.1-standin: pgdrill Citus stand-in, NOT Citus '
           '(implements only pg_dist_node and the node and shard functions Patroni and pgdrill use)'::text
$$;
COMMENT ON FUNCTION pg_catalog.citus_version() IS 'pgdrill Citus stand-in: version string';

---------------------------------------------------------------------------------------------------
-- Routing: connections to the groups' primaries
---------------------------------------------------------------------------------------------------

CREATE FUNCTION citus_standin.conninfo_value(p text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT '''' || pg_catalog.replace(pg_catalog.replace(p, '\', '\\'), '''', '\''') || ''''
$$;

-- libpq connection string for host:port (connecting to hostaddr p_addr, which wait_for_node found
-- accepting, when not NULL): this database, the current user and, as Citus does, the pg_dist_authinfo entry of the
-- node (nodeid) or of all nodes (0). connect_timeout bounds the rest of the attempt (the startup
-- and authentication exchange; libpq's minimum is 2 s). Keepalives: an idle connection to a worker
-- that has gone is noticed.
CREATE FUNCTION citus_standin.conninfo(p_host text, p_port int, p_addr text, p_timeout_s int) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.format(
               'host=%s%s port=%s dbname=%s user=%s connect_timeout=%s keepalives=1 keepalives_idle=5 '
               'keepalives_interval=2 keepalives_count=2 application_name=citus_standin',
               citus_standin.conninfo_value(p_host), coalesce(' hostaddr=' || citus_standin.conninfo_value(p_addr), ''),
               p_port,
               citus_standin.conninfo_value(pg_catalog.current_database()),
               citus_standin.conninfo_value(current_user::text), greatest(p_timeout_s, 2))
           || coalesce(' ' || (
               SELECT a.authinfo FROM pg_catalog.pg_dist_authinfo a
               WHERE a.rolename = current_user
                 AND a.nodeid IN (0, (SELECT n.nodeid FROM pg_catalog.pg_dist_node n
                                      WHERE n.nodename = p_host AND n.nodeport = p_port))
               ORDER BY a.nodeid DESC LIMIT 1), '')
$$;

-- citus.node_connection_timeout in ms, as Citus reads it (a placeholder here: '30000', '30s' and
-- '1min' all work); 30 s when unset, clamped to Citus's range (10 ms .. 1 h).
CREATE FUNCTION citus_standin.node_connection_timeout() RETURNS int
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v text := pg_catalog.btrim(coalesce(pg_catalog.current_setting('citus.node_connection_timeout', true), ''));
    v_ms numeric;
BEGIN
    IF v = '' THEN
        RETURN 30000;
    ELSIF v ~ '^[0-9]+$' THEN
        v_ms := v::numeric;
    ELSE
        v_ms := pg_catalog.date_part('epoch', v::interval) * 1000;
    END IF;
    RETURN least(greatest(v_ms, 10), 3600000)::int;
END
$$;

-- The current primary of a group, as committed when called (a write calls it after taking its
-- shard's lock, so after a citus_update_node of that group has committed).
CREATE FUNCTION citus_standin.group_primary(p_group int, OUT host text, OUT port int)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT n.nodename, n.nodeport INTO host, port FROM pg_catalog.pg_dist_node n
    WHERE n.groupid = p_group AND n.noderole = 'primary' AND n.isactive AND n.nodecluster = 'default';
    IF host IS NULL THEN
        RAISE EXCEPTION 'node group % does not have a primary node', p_group
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$$;

-- A dblink connection of this session to group p_group's primary at host:port, named
-- citus_standin/g<group>/<host>:<port>. Connections of the group to another address (an earlier
-- primary) are closed, so a later switchback never reuses a dead one. reused: the connection was
-- already open (so it may be stale; see remote_command()). A new connection is attempted as Citus
-- attempts one: for up to citus.node_connection_timeout, interruptibly (wait_for_node), and a failed
-- attempt is not retried.
CREATE FUNCTION citus_standin.connection(p_group int, p_host text, p_port int, OUT conn text, OUT reused bool)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_prefix text := pg_catalog.format('citus_standin/g%s/', p_group);
    v_name text;
    v_started timestamptz;
    v_timeout int;
    v_addr text;
BEGIN
    conn := v_prefix || p_host || ':' || p_port;
    reused := false;
    FOREACH v_name IN ARRAY coalesce(citus_standin.dblink_get_connections(), '{}'::text[]) LOOP
        IF v_name = conn THEN
            reused := true;
        ELSIF pg_catalog.starts_with(v_name, v_prefix) THEN
            PERFORM citus_standin.forget(v_name);
        END IF;
    END LOOP;
    -- Left busy by a statement interrupted while waiting (cancel, statement_timeout).
    IF reused AND citus_standin.dblink_is_busy(conn) = 1 THEN
        PERFORM citus_standin.forget(conn);
        reused := false;
    END IF;
    IF NOT reused THEN
        v_started := pg_catalog.clock_timestamp();
        v_timeout := citus_standin.node_connection_timeout();
        v_addr := citus_standin.wait_for_node(p_host, p_port, v_timeout);
        PERFORM citus_standin.dblink_connect(conn, citus_standin.conninfo(p_host, p_port, v_addr,
            pg_catalog.ceil((v_timeout - 1000 * pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - v_started))
                            / 1000)::int));
    END IF;
END
$$;

-- Closes p_conn. A connection that is part of this transaction block's distributed transaction
-- takes its part of the transaction with it: the transaction is marked so that it cannot commit
-- (citus.c), as Citus fails a transaction whose remote transaction failed.
CREATE FUNCTION citus_standin.forget(p_conn text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM citus_standin.participant_lost(p_conn);
    PERFORM citus_standin.disconnect(p_conn);
END
$$;

-- Closes p_conn, if open (a connection found dead before a command of this transaction went out).
CREATE FUNCTION citus_standin.disconnect(p_conn text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_conn = ANY (coalesce(citus_standin.dblink_get_connections(), '{}'::text[])) THEN
        PERFORM citus_standin.dblink_disconnect(p_conn);
    END IF;
END
$$;

-- Sends p_sql and waits for its result without blocking interrupts (dblink's synchronous calls in
-- PostgreSQL 15 cannot be cancelled; polling with pg_sleep can, so statement_timeout, cancel and
-- pg_terminate_backend work on a write stuck on a dead worker).
CREATE FUNCTION citus_standin.send_and_wait(p_conn text, p_sql text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM citus_standin.send(p_conn, p_sql);
    PERFORM citus_standin.wait_for_result(p_conn);
END
$$;

-- Sends p_sql over p_conn without waiting; a connection that cannot take it is a
-- connection_failure (08006).
CREATE FUNCTION citus_standin.send(p_conn text, p_sql text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF citus_standin.dblink_send_query(p_conn, p_sql) <> 1 THEN
        RAISE EXCEPTION 'could not send a command over %', p_conn USING ERRCODE = 'connection_failure';
    END IF;
END
$$;

-- Waits, interruptibly, until the command sent over p_conn has its result.
CREATE FUNCTION citus_standin.wait_for_result(p_conn text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WHILE citus_standin.dblink_is_busy(p_conn) = 1 LOOP
        PERFORM pg_catalog.pg_sleep(0.0005);
    END LOOP;
END
$$;

-- Runs a command (no result rows) on group p_group's primary; returns its command tag. A reused
-- connection found dead before the command went out (connection failure or server shutdown,
-- SQLSTATE 08xxx/57P0x, when sending) is replaced and the command sent on the new one, as Citus
-- replaces a cached connection whose socket was closed. Once the command is sent, any error is the
-- caller's, as in Citus: the worker may have applied it (a link cut while its answer was on the
-- way), so sending it again could apply it twice. Inside a transaction block the command joins the
-- coordinator's distributed transaction (see Distributed transactions in citus.c).
CREATE FUNCTION citus_standin.remote_command(p_group int, p_host text, p_port int, p_sql text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_conn record;
    v_attempt int := 0;
    v_state text;
    v_status text;
    v_sent bool;
    v_joined bool;
    v_prefix text[];
BEGIN
    v_conn := citus_standin.connection(p_group, p_host, p_port);
    -- A connection already in this transaction block's remote transaction cannot be replaced.
    v_joined := citus_standin.in_remote_transaction(v_conn.conn);
    v_prefix := citus_standin.remote_prefix(v_conn.conn);
    LOOP
        v_attempt := v_attempt + 1;
        v_sent := false;
        BEGIN
            -- (PL/pgSQL variables keep their values when the block's subtransaction rolls back.)
            PERFORM citus_standin.run_prefix(v_conn.conn, v_prefix);
            PERFORM citus_standin.send(v_conn.conn, p_sql);
            v_sent := true;
            PERFORM citus_standin.wait_for_result(v_conn.conn);
            SELECT r.status INTO v_status FROM citus_standin.dblink_get_result(v_conn.conn, true) AS r(status text);
            PERFORM 1 FROM citus_standin.dblink_get_result(v_conn.conn, true) AS r(status text);
            RETURN v_status;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE;
            IF v_conn.reused AND v_attempt = 1 AND NOT v_sent AND NOT v_joined
               AND (pg_catalog.left(v_state, 2) = '08' OR v_state IN ('57P01', '57P02', '57P03')) THEN
                -- Dead before this transaction used it: a new connection carries its part.
                PERFORM citus_standin.disconnect(v_conn.conn);
                v_conn := citus_standin.connection(p_group, p_host, p_port);
                -- A new connection has no transaction to roll back; BEGIN again if it opened one.
                v_prefix := pg_catalog.array_remove(v_prefix, 'ROLLBACK');
                CONTINUE;
            END IF;
            PERFORM citus_standin.forget(v_conn.conn);
            RAISE;
        END;
    END LOOP;
END
$$;

---------------------------------------------------------------------------------------------------
-- Distributed transactions (citus.c tracks the participants and describes the protocol)
---------------------------------------------------------------------------------------------------

CREATE FUNCTION citus_standin.remote_prefix(conn text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'citus_standin_remote_prefix' LANGUAGE C STRICT;
CREATE FUNCTION citus_standin.in_remote_transaction(conn text) RETURNS bool
    AS 'MODULE_PATHNAME', 'citus_standin_in_remote_transaction' LANGUAGE C STRICT;
CREATE FUNCTION citus_standin.note_prepare(conn text, conninfo text, gid text) RETURNS void
    AS 'MODULE_PATHNAME', 'citus_standin_note_prepare' LANGUAGE C STRICT;
CREATE FUNCTION citus_standin.participant_lost(conn text) RETURNS void
    AS 'MODULE_PATHNAME', 'citus_standin_participant_lost' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION citus_standin.remote_prefix(text), citus_standin.in_remote_transaction(text),
    citus_standin.note_prepare(text, text, text), citus_standin.participant_lost(text) FROM PUBLIC;

-- Runs each of p_commands (each possibly several statements) over p_conn, one at a time, reading
-- every result; fails with the worker's error (dblink_get_result(.., true) raises it).
CREATE FUNCTION citus_standin.run_prefix(p_conn text, p_commands text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_command text;
BEGIN
    FOREACH v_command IN ARRAY p_commands LOOP
        PERFORM citus_standin.run_on(p_conn, v_command);
    END LOOP;
END
$$;

-- Runs one command over p_conn; returns the command tag of its last statement.
CREATE FUNCTION citus_standin.run_on(p_conn text, p_command text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_status text;
    v_last text;
BEGIN
    PERFORM citus_standin.send_and_wait(p_conn, p_command);
    LOOP
        SELECT r.status INTO v_status FROM citus_standin.dblink_get_result(p_conn, true) AS r(status text);
        EXIT WHEN NOT FOUND;
        v_last := v_status;
    END LOOP;
    RETURN v_last;
END
$$;

-- Runs p_command, which must answer with the tag p_expected: a worker that answers COMMIT or
-- PREPARE TRANSACTION with ROLLBACK had lost its part of the transaction (transaction_rollback,
-- so the coordinator's transaction fails).
CREATE FUNCTION citus_standin.run_expecting(p_conn text, p_command text, p_expected text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_status text := citus_standin.run_on(p_conn, p_command);
BEGIN
    IF v_status IS DISTINCT FROM p_expected THEN
        RAISE EXCEPTION 'the worker behind % answered % with %: its part of the transaction was lost', p_conn,
            pg_catalog.split_part(p_command, ' ', 1), coalesce(v_status, 'nothing')
            USING ERRCODE = 'transaction_rollback';
    END IF;
END
$$;

-- The group and address a connection's name (citus_standin/g<group>/<host>:<port>) stands for.
CREATE FUNCTION citus_standin.connection_target(p_conn text, OUT groupid int, OUT host text, OUT port int)
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT pg_catalog.split_part(pg_catalog.split_part(p_conn, '/', 2), 'g', 2)::int,
           pg_catalog.regexp_replace(pg_catalog.split_part(p_conn, '/', 3), ':[0-9]+$', ''),
           pg_catalog.substring(pg_catalog.split_part(p_conn, '/', 3), ':([0-9]+)$')::int
$$;

-- One-phase commit of a transaction block's only worker participant, at the coordinator's
-- PRE_COMMIT (Citus: CoordinatedRemoteTransactionsCommit before the local commit).
CREATE FUNCTION citus_standin.commit_remote(p_conn text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM citus_standin.run_expecting(p_conn, 'COMMIT', 'COMMIT');
END
$$;

-- Two-phase commit's first phase, at the coordinator's PRE_COMMIT: for each participant, a
-- pg_dist_transaction record (in the coordinator's transaction), then PREPARE TRANSACTION with
-- Citus's name format citus_<initiator group>_<pid>_<transaction number>_<connection number> (the
-- transaction number here is the coordinator's full transaction id, which recovery uses to tell an
-- in-progress transaction). Any failure fails the coordinator's commit: citus.c then rolls back
-- what was (being) prepared.
CREATE FUNCTION citus_standin.prepare_remote(p_conns text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_xid text := pg_catalog.pg_current_xact_id()::text;
    v_conn text;
    v_target record;
    v_gid text;
    v_n int := 0;
BEGIN
    FOREACH v_conn IN ARRAY p_conns LOOP
        v_n := v_n + 1;
        v_target := citus_standin.connection_target(v_conn);
        v_gid := pg_catalog.format('citus_0_%s_%s_%s', pg_catalog.pg_backend_pid(), v_xid, v_n);
        INSERT INTO pg_catalog.pg_dist_transaction (groupid, gid) VALUES (v_target.groupid, v_gid);
        PERFORM citus_standin.note_prepare(v_conn,
            citus_standin.conninfo(v_target.host, v_target.port, NULL, citus_standin.node_connection_timeout() / 1000),
            v_gid);
        PERFORM citus_standin.run_expecting(v_conn, pg_catalog.format('PREPARE TRANSACTION %L', v_gid),
                                            'PREPARE TRANSACTION');
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION citus_standin.run_prefix(text, text[]), citus_standin.run_on(text, text),
    citus_standin.run_expecting(text, text, text),
    citus_standin.commit_remote(text), citus_standin.prepare_remote(text[]) FROM PUBLIC;

-- Whether the coordinator transaction that prepared gid (its 4th field, a full transaction id) is
-- still running (a gid this server cannot place counts as finished).
CREATE FUNCTION citus_standin.preparer_in_progress(p_gid text) RETURNS bool
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN pg_catalog.pg_xact_status(pg_catalog.split_part(p_gid, '_', 4)::xid8) = 'in progress';
EXCEPTION WHEN OTHERS THEN
    RETURN false;
END
$$;

-- This coordinator's prepared transactions on the worker behind p_conn, in this database; young:
-- those prepared less than 2 s ago. The stand-in cannot see, as Citus does, whether the backend
-- that prepared one is still finishing it (its COMMIT PREPARED comes after the local commit, when
-- pg_xact_status already says committed), so recovery leaves young ones to their backend.
CREATE FUNCTION citus_standin.remote_prepared(p_conn text, OUT gids text[], OUT young text[])
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM citus_standin.send_and_wait(p_conn, pg_catalog.format(
        'SELECT gid, prepared > pg_catalog.now() - interval ''2 s'' FROM pg_catalog.pg_prepared_xacts '
        'WHERE gid LIKE %L AND database = %L', 'citus\_0\_%', pg_catalog.current_database()));
    SELECT coalesce(pg_catalog.array_agg(r.gid), '{}'), coalesce(pg_catalog.array_agg(r.gid) FILTER (WHERE r.young), '{}')
    INTO gids, young
    FROM citus_standin.dblink_get_result(p_conn, true) AS r(gid text, young bool);
    PERFORM 1 FROM citus_standin.dblink_get_result(p_conn, true) AS r(gid text, young bool);
END
$$;

-- Ends one prepared transaction (COMMIT or ROLLBACK PREPARED); false when it was already gone
-- (its own backend finished it meanwhile).
CREATE FUNCTION citus_standin.finish_prepared(p_conn text, p_verb text, p_gid text) RETURNS bool
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM citus_standin.run_on(p_conn, pg_catalog.format('%s PREPARED %L', p_verb, p_gid));
    RETURN true;
EXCEPTION WHEN undefined_object THEN
    -- The error was the command's result; the end of its results is still to be read.
    PERFORM 1 FROM citus_standin.dblink_get_result(p_conn, false) AS r(status text);
    RETURN false;
END
$$;

-- Recovers group p_group's prepared transactions on its primary at host:port; returns how many.
-- Citus's algorithm (transaction_recovery.c): P = prepared there, T = this group's records, Q =
-- prepared there again; a record of a transaction still running is left alone; one whose gid is in
-- P and Q is committed (COMMIT PREPARED) and deleted; one only in Q is kept for the next round (it
-- was prepared and committed meanwhile); one in neither is finished and deleted. What remains of
-- P, not running, has no record: its transaction aborted, ROLLBACK PREPARED. Young prepared
-- transactions (see remote_prepared) count as running.
CREATE FUNCTION citus_standin.recover_group(p_group int, p_host text, p_port int) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_conn text := pg_catalog.format('citus_standin/recovery/%s:%s', p_host, p_port);
    v_timeout int := citus_standin.node_connection_timeout();
    v_p text[];
    v_young text[];
    v_running text[];
    v_q text[];
    v_gid text;
    v_recovered int := 0;
BEGIN
    IF NOT v_conn = ANY (coalesce(citus_standin.dblink_get_connections(), '{}'::text[])) THEN
        PERFORM citus_standin.dblink_connect(v_conn, citus_standin.conninfo(p_host, p_port,
            citus_standin.wait_for_node(p_host, p_port, v_timeout), v_timeout / 1000));
    END IF;
    SELECT r.gids, r.young INTO v_p, v_young FROM citus_standin.remote_prepared(v_conn) r;
    -- Citus's A, taken before T: a transaction that commits after T was read is still counted as
    -- running, never rolled back for the record T could not see yet.
    v_running := ARRAY(SELECT g FROM pg_catalog.unnest(v_p) g WHERE citus_standin.preparer_in_progress(g));
    FOR v_gid IN SELECT t.gid FROM pg_catalog.pg_dist_transaction t WHERE t.groupid = p_group LOOP
        CONTINUE WHEN v_gid = ANY (v_running) OR citus_standin.preparer_in_progress(v_gid);
        IF v_q IS NULL THEN
            v_q := (citus_standin.remote_prepared(v_conn)).gids;
        END IF;
        IF v_gid = ANY (v_p) AND v_gid = ANY (v_q) THEN
            IF NOT v_gid = ANY (v_young) AND citus_standin.finish_prepared(v_conn, 'COMMIT', v_gid) THEN
                v_recovered := v_recovered + 1;
            END IF;
            IF NOT v_gid = ANY (v_young) THEN
                DELETE FROM pg_catalog.pg_dist_transaction t WHERE t.groupid = p_group AND t.gid = v_gid;
            END IF;
        ELSIF NOT v_gid = ANY (v_q) THEN
            DELETE FROM pg_catalog.pg_dist_transaction t WHERE t.groupid = p_group AND t.gid = v_gid;
        END IF;
        v_p := pg_catalog.array_remove(v_p, v_gid);
    END LOOP;
    FOREACH v_gid IN ARRAY v_p LOOP
        CONTINUE WHEN v_gid = ANY (v_young) OR v_gid = ANY (v_running);
        IF citus_standin.finish_prepared(v_conn, 'ROLLBACK', v_gid) THEN
            v_recovered := v_recovered + 1;
        END IF;
    END LOOP;
    RETURN v_recovered;
EXCEPTION WHEN OTHERS THEN
    PERFORM citus_standin.forget(v_conn);
    RAISE;
END
$$;

-- Citus's recover_prepared_transactions(): every active worker primary's prepared transactions
-- of this coordinator, committed or rolled back as pg_dist_transaction says. A worker that cannot
-- be reached is skipped with a warning (as in Citus). One recovery at a time.
CREATE FUNCTION pg_catalog.recover_prepared_transactions() RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_node record;
    v_recovered int := 0;
    v_n int;
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(1128879187, -2);
    FOR v_node IN
        SELECT n.groupid, n.nodename, n.nodeport FROM pg_catalog.pg_dist_node n
        WHERE n.groupid <> 0 AND n.noderole = 'primary' AND n.isactive AND n.nodecluster = 'default'
        ORDER BY n.groupid
    LOOP
        BEGIN
            v_n := citus_standin.recover_group(v_node.groupid, v_node.nodename, v_node.nodeport);
            IF v_n > 0 THEN
                RAISE LOG 'recovered % prepared transaction(s) on %:%', v_n, v_node.nodename, v_node.nodeport;
            END IF;
            v_recovered := v_recovered + v_n;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'transaction recovery cannot recover %:%: %', v_node.nodename, v_node.nodeport, SQLERRM;
        END;
    END LOOP;
    RETURN v_recovered;
END
$$;
COMMENT ON FUNCTION pg_catalog.recover_prepared_transactions()
    IS 'pgdrill Citus stand-in: commits or rolls back the prepared transactions this coordinator left on the workers';
REVOKE ALL ON FUNCTION pg_catalog.recover_prepared_transactions() FROM PUBLIC;

-- citus.recover_2pc_interval in ms (a placeholder here, as every citus.* setting: '60000', '2s',
-- '1min'); Citus's default 1 min when unset; -1 (or 0) turns recovery off.
CREATE FUNCTION citus_standin.recover_2pc_interval() RETURNS int
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v text := pg_catalog.btrim(coalesce(pg_catalog.current_setting('citus.recover_2pc_interval', true), ''));
BEGIN
    IF v = '' THEN
        RETURN 60000;
    ELSIF v ~ '^-?[0-9]{1,9}$' THEN
        RETURN v::int;
    END IF;
    RETURN (pg_catalog.date_part('epoch', v::interval) * 1000)::int;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'invalid citus.recover_2pc_interval %: using 1 min', v;
    RETURN 60000;
END
$$;

-- One round of the maintenance daemon (citus.c) on a primary: transaction recovery when
-- citus.recover_2pc_interval is on. Returns the milliseconds until the next round.
CREATE FUNCTION citus_standin.maintenance() RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_interval int := citus_standin.recover_2pc_interval();
    v_recovered int;
BEGIN
    IF v_interval <= 0 THEN
        RETURN 5000;
    END IF;
    v_recovered := pg_catalog.recover_prepared_transactions();
    IF v_recovered > 0 THEN
        RAISE LOG 'maintenance daemon recovered % distributed transactions', v_recovered;
    END IF;
    RETURN v_interval;
END
$$;
REVOKE ALL ON FUNCTION citus_standin.preparer_in_progress(text), citus_standin.remote_prepared(text),
    citus_standin.finish_prepared(text, text, text),
    citus_standin.recover_group(int, text, int), citus_standin.maintenance() FROM PUBLIC;

---------------------------------------------------------------------------------------------------
-- Distributed tables
---------------------------------------------------------------------------------------------------

-- The int4 hash of a value of the distribution column (as text), the way a write is hashed.
CREATE FUNCTION citus_standin.hash_text_value(p_table citus_standin.dist_table, p_value text) RETURNS int
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_hash int;
BEGIN
    EXECUTE pg_catalog.format('SELECT %s(CAST(CAST($1 AS %s) AS %s))', p_table.hash_function, p_table.distcol_type,
                              p_table.hash_type)
        INTO v_hash USING p_value;
    RETURN v_hash;
END
$$;

-- The shard covering a hash value, and the group holding it.
CREATE FUNCTION citus_standin.shard_for_hash(p_table regclass, p_hash int, OUT shardid bigint, OUT groupid int)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.shardid, pl.groupid
    FROM pg_catalog.pg_dist_shard s
    JOIN pg_catalog.pg_dist_placement pl ON pl.shardid = s.shardid
    WHERE s.logicalrelid = p_table
      AND p_hash BETWEEN s.shardminvalue::int AND s.shardmaxvalue::int
    ORDER BY pl.shardstate <> 1, pl.placementid
    LIMIT 1
$$;

CREATE FUNCTION citus_standin.dist_table_of(p_table regclass) RETURNS citus_standin.dist_table
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v citus_standin.dist_table;
BEGIN
    SELECT * INTO v FROM citus_standin.dist_table d WHERE d.logicalrelid = p_table;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'relation % is not distributed', p_table USING ERRCODE = 'invalid_table_definition';
    END IF;
    RETURN v;
END
$$;

-- INSTEAD OF INSERT on a distributed table's view: lock the row's shard (shared, to the end of the
-- transaction; waits while a citus_update_node of the shard's group holds it, see Locking at the
-- top), then forward the row to the primary of the shard's group.
CREATE FUNCTION citus_standin.route_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_table citus_standin.dist_table := citus_standin.dist_table_of(TG_RELID);
    v_hash int;
    v_shard record;
    v_primary record;
BEGIN
    EXECUTE pg_catalog.format('SELECT %s(CAST(($1).%I AS %s))', v_table.hash_function, v_table.distcol,
                              v_table.hash_type)
        INTO v_hash USING NEW;
    IF v_hash IS NULL THEN
        RAISE EXCEPTION 'cannot perform an INSERT with NULL in the partition column'
            USING ERRCODE = 'not_null_violation';
    END IF;
    v_shard := citus_standin.shard_for_hash(TG_RELID, v_hash);
    IF v_shard.groupid IS NULL THEN
        RAISE EXCEPTION 'could not find the shard of hash value % of %', v_hash, TG_RELID::regclass;
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(1128879188, citus_standin.shard_lock_key(v_shard.shardid));
    v_primary := citus_standin.group_primary(v_shard.groupid);
    PERFORM citus_standin.remote_command(
        v_shard.groupid, v_primary.host, v_primary.port,
        pg_catalog.format('INSERT INTO %s SELECT * FROM pg_catalog.json_populate_record(NULL::%s, %L)',
                          v_table.remote_name, v_table.remote_name, pg_catalog.row_to_json(NEW)::text));
    RETURN NEW;
END
$$;

-- The rows of a distributed table: every group holding shards of it, read through its primary.
-- p_row is NULL of the moved-aside local table's row type (the view passes it), which gives both
-- the table and the result type.
CREATE FUNCTION citus_standin.read_distributed(p_row anyelement) RETURNS SETOF anyelement
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_table citus_standin.dist_table;
    v_group int;
    v_primary record;
    v_conn record;
    v_attempt int;
    v_state text;
    v_sql text;
    v_prefix text[];
    v_joined bool;
BEGIN
    SELECT d.* INTO v_table FROM citus_standin.dist_table d
    WHERE d.shadowrelid = (SELECT t.typrelid FROM pg_catalog.pg_type t WHERE t.oid = pg_catalog.pg_typeof(p_row));
    IF NOT FOUND THEN
        RAISE EXCEPTION 'type % is not the row type of a distributed table', pg_catalog.pg_typeof(p_row);
    END IF;
    v_sql := pg_catalog.format('SELECT * FROM %s', v_table.remote_name);
    FOR v_group IN
        SELECT DISTINCT pl.groupid FROM pg_catalog.pg_dist_shard s
        JOIN pg_catalog.pg_dist_placement pl ON pl.shardid = s.shardid
        WHERE s.logicalrelid = v_table.logicalrelid ORDER BY 1
    LOOP
        v_primary := citus_standin.group_primary(v_group);
        v_conn := citus_standin.connection(v_group, v_primary.host, v_primary.port);
        -- Outside the retry block: a PL/pgSQL exception block is a subtransaction, inside which
        -- remote_prefix() would take any statement for a transaction block.
        v_joined := citus_standin.in_remote_transaction(v_conn.conn);
        v_prefix := citus_standin.remote_prefix(v_conn.conn);
        v_attempt := 0;
        LOOP
            v_attempt := v_attempt + 1;
            BEGIN
                PERFORM citus_standin.run_prefix(v_conn.conn, v_prefix);
                PERFORM citus_standin.send_and_wait(v_conn.conn, v_sql);
                RETURN QUERY EXECUTE pg_catalog.format(
                    'SELECT * FROM citus_standin.dblink_get_result(%L, true) AS r(%s)', v_conn.conn, v_table.coldefs);
                PERFORM 1 FROM citus_standin.dblink_get_result(v_conn.conn, true) AS r(status text);
                EXIT;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE;
                IF v_conn.reused AND v_attempt = 1 AND NOT v_joined
                   AND (pg_catalog.left(v_state, 2) = '08' OR v_state IN ('57P01', '57P02', '57P03')) THEN
                    PERFORM citus_standin.disconnect(v_conn.conn);
                    v_conn := citus_standin.connection(v_group, v_primary.host, v_primary.port);
                    v_prefix := pg_catalog.array_remove(v_prefix, 'ROLLBACK');
                    CONTINUE;
                END IF;
                PERFORM citus_standin.forget(v_conn.conn);
                RAISE;
            END;
        END LOOP;
    END LOOP;
END
$$;

CREATE FUNCTION citus_standin.create_distributed_table(p_table regclass, p_column text, p_method text,
                                                       p_colocate_with text, p_shard_count int)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_rel record;
    v_col record;
    v_hash_type regtype;
    v_hash_function regproc;
    v_shard_count int;
    v_colocation int;
    v_colocated_with regclass;
    v_groups int[];
    v_workers record;
    v_coldefs text;
    v_worker_cols text;
    v_constraints text;
    v_remote text;
    v_shadow text;
    v_view regclass;
    v_default record;
    v_increment bigint;
    v_min bigint;
    v_shard bigint;
    v_moved bigint;
    i int;
BEGIN
    IF p_method IS DISTINCT FROM 'hash' THEN
        RAISE EXCEPTION 'the pgdrill Citus stand-in supports only hash distribution, not %', coalesce(p_method, 'NULL')
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF p_table IS NULL OR p_column IS NULL THEN
        RAISE EXCEPTION 'table_name and distribution_column must not be NULL';
    END IF;
    PERFORM citus_standin.lock_node_metadata();
    SELECT c.oid, c.relkind, c.relname, n.nspname INTO v_rel
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_table;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = p_table) THEN
        RAISE EXCEPTION 'table "%" is already distributed', v_rel.relname USING ERRCODE = 'invalid_table_definition';
    END IF;
    IF v_rel.relkind <> 'r' THEN
        RAISE EXCEPTION 'the pgdrill Citus stand-in can distribute only ordinary tables; % is not one', p_table
            USING ERRCODE = 'feature_not_supported';
    END IF;
    SELECT a.attnum, a.atttypid::regtype AS typ INTO v_col FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = p_table AND a.attname = p_column AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', p_column, v_rel.relname
            USING ERRCODE = 'undefined_column';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
               WHERE k.conrelid = p_table AND k.contype IN ('p', 'u', 'x') AND NOT v_col.attnum = ANY (k.conkey)) THEN
        RAISE EXCEPTION 'cannot create constraint on "%"', v_rel.relname
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Distributed relations cannot have UNIQUE, EXCLUDE, or PRIMARY KEY constraints that do '
                           'not include the partition column (with an equality operator if EXCLUDE).';
    END IF;

    -- The default hash function of the column's type (or of a type it is binary-coercible to,
    -- e.g. varchar -> text, or of a domain's base type).
    SELECT oc.opcintype::regtype, pr.amproc INTO v_hash_type, v_hash_function
    FROM pg_catalog.pg_opclass oc
    JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname = 'hash'
    JOIN pg_catalog.pg_amproc pr ON pr.amprocfamily = oc.opcfamily AND pr.amprocnum = 1
         AND pr.amproclefttype = oc.opcintype AND pr.amprocrighttype = oc.opcintype
    WHERE oc.opcdefault
      AND (oc.opcintype = v_col.typ
           OR oc.opcintype = (SELECT t.typbasetype FROM pg_catalog.pg_type t WHERE t.oid = v_col.typ AND t.typtype = 'd')
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast ca
                      WHERE ca.castsource = v_col.typ AND ca.casttarget = oc.opcintype AND ca.castmethod = 'b'))
    ORDER BY oc.opcintype = v_col.typ DESC
    LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'could not identify a hash function for type %', v_col.typ
            USING ERRCODE = 'undefined_function';
    END IF;

    -- Shard count and co-location (as Citus: 'default' co-locates with tables of the same shard
    -- count and column type, 'none' never, a table name with that table).
    v_shard_count := coalesce(p_shard_count,
                              nullif(pg_catalog.current_setting('citus.shard_count', true), '')::int, 32);
    IF v_shard_count < 1 OR v_shard_count > 64000 THEN
        RAISE EXCEPTION '% is outside the valid range for parameter "shard_count" (1 .. 64000)', v_shard_count;
    END IF;
    IF p_colocate_with NOT IN ('default', 'none') THEN
        v_colocated_with := p_colocate_with::regclass;
        SELECT p.colocationid INTO v_colocation FROM pg_catalog.pg_dist_partition p
        WHERE p.logicalrelid = v_colocated_with;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'cannot colocate tables % and %', v_rel.relname, p_colocate_with
                USING DETAIL = pg_catalog.format('%s is not distributed', p_colocate_with);
        END IF;
        SELECT c.shardcount INTO v_shard_count FROM pg_catalog.pg_dist_colocation c WHERE c.colocationid = v_colocation;
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_colocation c
                       WHERE c.colocationid = v_colocation AND c.distributioncolumntype = v_col.typ) THEN
            RAISE EXCEPTION 'cannot colocate tables % and %', v_rel.relname, p_colocate_with
                USING DETAIL = 'Distribution column types don''t match.';
        END IF;
    ELSIF p_colocate_with = 'default' THEN
        SELECT c.colocationid, p.logicalrelid INTO v_colocation, v_colocated_with
        FROM pg_catalog.pg_dist_colocation c
        JOIN pg_catalog.pg_dist_partition p ON p.colocationid = c.colocationid
        WHERE c.shardcount = v_shard_count AND c.replicationfactor = 1 AND c.distributioncolumntype = v_col.typ
        ORDER BY c.colocationid LIMIT 1;
    END IF;
    IF v_colocation IS NULL THEN
        v_colocation := pg_catalog.nextval('pg_catalog.pg_dist_colocationid_seq');
        INSERT INTO pg_catalog.pg_dist_colocation
            (colocationid, shardcount, replicationfactor, distributioncolumntype, distributioncolumncollation)
        VALUES (v_colocation, v_shard_count, 1, v_col.typ,
                (SELECT a.attcollation FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = p_table AND a.attnum = v_col.attnum));
        v_colocated_with := NULL;
    END IF;

    SELECT pg_catalog.array_agg(n.groupid ORDER BY n.groupid) INTO v_groups FROM pg_catalog.pg_dist_node n
    WHERE n.groupid <> 0 AND n.noderole = 'primary' AND n.isactive AND n.shouldhaveshards AND n.nodecluster = 'default';
    IF v_groups IS NULL AND v_colocated_with IS NULL THEN
        RAISE EXCEPTION 'no worker node to place the shards of % on', v_rel.relname
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Patroni adds the worker groups'' primaries to pg_dist_node once they run (pgdrill Citus stand-in).';
    END IF;

    -- The table on every worker primary: same columns, NOT NULL and PRIMARY KEY/UNIQUE/CHECK
    -- constraints (no defaults: the coordinator sends complete rows).
    SELECT pg_catalog.string_agg(pg_catalog.format('%I %s', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)),
                                 ', ' ORDER BY a.attnum),
           pg_catalog.string_agg(pg_catalog.format('%I %s%s', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
                                                   CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END),
                                 ', ' ORDER BY a.attnum)
    INTO v_coldefs, v_worker_cols
    FROM pg_catalog.pg_attribute a WHERE a.attrelid = p_table AND a.attnum > 0 AND NOT a.attisdropped;
    SELECT pg_catalog.string_agg(pg_catalog.format('CONSTRAINT %I %s', k.conname, pg_catalog.pg_get_constraintdef(k.oid)),
                                 ', ' ORDER BY k.conname)
    INTO v_constraints
    FROM pg_catalog.pg_constraint k WHERE k.conrelid = p_table AND k.contype IN ('p', 'u', 'c');
    v_remote := pg_catalog.format('%I.%I', v_rel.nspname, v_rel.relname);
    FOR v_workers IN
        SELECT DISTINCT n.groupid FROM pg_catalog.pg_dist_node n
        WHERE n.groupid <> 0 AND n.noderole = 'primary' AND n.nodecluster = 'default' ORDER BY 1
    LOOP
        DECLARE
            v_primary record := citus_standin.group_primary(v_workers.groupid);
        BEGIN
            PERFORM citus_standin.remote_command(v_workers.groupid, v_primary.host, v_primary.port,
                pg_catalog.format('CREATE SCHEMA IF NOT EXISTS %I', v_rel.nspname));
            PERFORM citus_standin.remote_command(v_workers.groupid, v_primary.host, v_primary.port,
                pg_catalog.format('CREATE TABLE IF NOT EXISTS %s (%s%s)', v_remote, v_worker_cols,
                                  coalesce(', ' || v_constraints, '')));
        END;
    END LOOP;

    -- Move the local table aside (keeping its owned sequences, used by the view's defaults) and
    -- put the view in its place.
    v_shadow := pg_catalog.format('%s_standin_%s', pg_catalog.left(v_rel.relname, 40), p_table::oid);
    EXECUTE pg_catalog.format('ALTER TABLE %I.%I RENAME TO %I', v_rel.nspname, v_rel.relname, v_shadow);
    EXECUTE pg_catalog.format('ALTER TABLE %I.%I SET SCHEMA citus_standin', v_rel.nspname, v_shadow);
    EXECUTE pg_catalog.format('CREATE VIEW %I.%I AS SELECT * FROM citus_standin.read_distributed(NULL::citus_standin.%I)',
                              v_rel.nspname, v_rel.relname, v_shadow);
    v_view := pg_catalog.format('%I.%I', v_rel.nspname, v_rel.relname)::regclass;
    FOR v_default IN
        SELECT a.attname,
               CASE WHEN a.attidentity <> '' THEN
                        pg_catalog.format('nextval(%L::regclass)',
                                          pg_catalog.pg_get_serial_sequence(p_table::text, a.attname))
                    ELSE pg_catalog.pg_get_expr(d.adbin, d.adrelid) END AS expr
        FROM pg_catalog.pg_attribute a
        LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = p_table AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
          AND (d.adbin IS NOT NULL OR a.attidentity <> '')
    LOOP
        EXECUTE pg_catalog.format('ALTER VIEW %s ALTER COLUMN %I SET DEFAULT %s', v_view, v_default.attname, v_default.expr);
    END LOOP;
    EXECUTE pg_catalog.format('CREATE TRIGGER citus_standin_route_insert INSTEAD OF INSERT ON %s '
                              'FOR EACH ROW EXECUTE FUNCTION citus_standin.route_insert()', v_view);
    EXECUTE pg_catalog.format('COMMENT ON VIEW %s IS %L', v_view,
        pg_catalog.format('distributed table (pgdrill Citus stand-in, NOT Citus): rows live on the worker groups; '
                          'the local table was moved to citus_standin.%I', v_shadow));

    INSERT INTO citus_standin.dist_table
        (logicalrelid, shadowrelid, remote_name, distcol, distcol_type, hash_type, hash_function, coldefs)
    VALUES (v_view, p_table, v_remote, p_column, v_col.typ, v_hash_type, v_hash_function, v_coldefs);
    INSERT INTO pg_catalog.pg_dist_partition (logicalrelid, partmethod, partkey, colocationid, repmodel, autoconverted)
    VALUES (v_view, 'h', p_column, v_colocation, 's', false);

    -- Shards: equal int4 hash ranges. Placements: shard i in the group of the co-located table's
    -- shard i, else round robin over the worker groups.
    v_increment := 4294967296 / v_shard_count;
    FOR i IN 0 .. v_shard_count - 1 LOOP
        v_min := -2147483648 + i * v_increment;
        v_shard := pg_catalog.nextval('pg_catalog.pg_dist_shardid_seq');
        INSERT INTO pg_catalog.pg_dist_shard (logicalrelid, shardid, shardstorage, shardminvalue, shardmaxvalue)
        VALUES (v_view, v_shard, 't', v_min::text,
                (CASE WHEN i = v_shard_count - 1 THEN 2147483647 ELSE v_min + v_increment - 1 END)::text);
        INSERT INTO pg_catalog.pg_dist_placement (shardid, shardstate, shardlength, groupid)
        VALUES (v_shard, 1, 0,
                coalesce((SELECT pl.groupid FROM pg_catalog.pg_dist_shard s
                          JOIN pg_catalog.pg_dist_placement pl ON pl.shardid = s.shardid
                          WHERE s.logicalrelid = v_colocated_with AND s.shardminvalue = v_min::text
                          ORDER BY pl.placementid LIMIT 1),
                         v_groups[1 + i % pg_catalog.array_length(v_groups, 1)]));
    END LOOP;

    -- Rows the local table already had go to the workers.
    EXECUTE pg_catalog.format('INSERT INTO %s SELECT * FROM citus_standin.%I', v_view, v_shadow);
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    IF v_moved > 0 THEN
        EXECUTE pg_catalog.format('DELETE FROM citus_standin.%I', v_shadow);
        RAISE NOTICE 'Copied % row(s) of % to the worker groups (pgdrill Citus stand-in)', v_moved, v_view;
    END IF;
END
$$;

CREATE FUNCTION pg_catalog.create_distributed_table(table_name regclass, distribution_column text,
                                                    distribution_type text DEFAULT 'hash',
                                                    colocate_with text DEFAULT 'default',
                                                    shard_count int DEFAULT NULL)
RETURNS void
LANGUAGE sql AS $$ SELECT citus_standin.create_distributed_table($1, $2, $3, $4, $5) $$;
COMMENT ON FUNCTION pg_catalog.create_distributed_table(regclass, text, text, text, int)
    IS 'pgdrill Citus stand-in: creates a hash-distributed table (the table becomes a view routing to the workers)';

CREATE FUNCTION citus_standin.shard_id_for_value(p_table regclass, p_value text) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_table citus_standin.dist_table := citus_standin.dist_table_of(p_table);
    v_hash int;
BEGIN
    IF p_value IS NULL THEN
        RAISE EXCEPTION 'distribution value cannot be NULL for tables other than reference tables.';
    END IF;
    v_hash := citus_standin.hash_text_value(v_table, p_value);
    RETURN (citus_standin.shard_for_hash(p_table, v_hash)).shardid;
END
$$;

-- Citus takes "any"; SQL functions cannot, so: a text overload (also taken by untyped literals)
-- and a polymorphic one for typed values.
CREATE FUNCTION pg_catalog.get_shard_id_for_distribution_column(table_name regclass, distribution_value text)
RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT citus_standin.shard_id_for_value($1, $2) $$;
CREATE FUNCTION pg_catalog.get_shard_id_for_distribution_column(table_name regclass, distribution_value anyelement)
RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT citus_standin.shard_id_for_value($1, $2::text) $$;
CREATE FUNCTION pg_catalog.get_shard_id_for_distribution_column(table_name regclass)
RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT citus_standin.shard_id_for_value($1, NULL) $$;
COMMENT ON FUNCTION pg_catalog.get_shard_id_for_distribution_column(regclass, text)
    IS 'pgdrill Citus stand-in: return the shard id which belongs to the given distribution value';
COMMENT ON FUNCTION pg_catalog.get_shard_id_for_distribution_column(regclass, anyelement)
    IS 'pgdrill Citus stand-in: return the shard id which belongs to the given distribution value';

-- p_sql on the primary of every group holding one of p_table's placements, in group order.
CREATE FUNCTION citus_standin.on_placement_groups(p_table regclass, p_sql text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_group int;
    v_primary record;
BEGIN
    FOR v_group IN
        SELECT DISTINCT pl.groupid FROM pg_catalog.pg_dist_shard s
        JOIN pg_catalog.pg_dist_placement pl ON pl.shardid = s.shardid
        WHERE s.logicalrelid = p_table ORDER BY 1
    LOOP
        v_primary := citus_standin.group_primary(v_group);
        PERFORM citus_standin.remote_command(v_group, v_primary.host, v_primary.port, p_sql);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION citus_standin.on_placement_groups(regclass, text) FROM PUBLIC;

-- TRUNCATE of a distributed table's view (called by citus.c's utility hook): the table on the
-- primary of every group holding one of its placements.
CREATE FUNCTION citus_standin.truncate_distributed(p_table regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM citus_standin.on_placement_groups(p_table,
        pg_catalog.format('TRUNCATE %s', (citus_standin.dist_table_of(p_table)).remote_name));
END
$$;
REVOKE ALL ON FUNCTION citus_standin.truncate_distributed(regclass) FROM PUBLIC;

-- DROP TABLE of a distributed table's view (called by citus.c's utility hook): the table on the
-- primary of every group holding one of its placements, its shards and placements, the view and
-- the local table moved aside. Citus drops the shards from the coordinator the same way.
CREATE FUNCTION citus_standin.drop_distributed(p_table regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_table citus_standin.dist_table := citus_standin.dist_table_of(p_table);
BEGIN
    PERFORM citus_standin.on_placement_groups(p_table,
                                              pg_catalog.format('DROP TABLE IF EXISTS %s', v_table.remote_name));
    DELETE FROM pg_catalog.pg_dist_placement
    WHERE shardid IN (SELECT shardid FROM pg_catalog.pg_dist_shard WHERE logicalrelid = p_table);
    DELETE FROM pg_catalog.pg_dist_shard WHERE logicalrelid = p_table;
    DELETE FROM pg_catalog.pg_dist_partition WHERE logicalrelid = p_table;
    DELETE FROM citus_standin.dist_table WHERE logicalrelid = p_table;
    EXECUTE pg_catalog.format('DROP VIEW %s', p_table);
    EXECUTE pg_catalog.format('DROP TABLE %s', v_table.shadowrelid);
END
$$;
REVOKE ALL ON FUNCTION citus_standin.drop_distributed(regclass) FROM PUBLIC;

-- DROP SCHEMA, after the coordinator dropped it (citus.c's utility hook): the same statement on
-- the primary of every worker group, as Citus propagates it (create_distributed_table created the
-- schema there).
CREATE FUNCTION citus_standin.drop_schema_on_workers(p_schema text, p_cascade bool) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_group int;
    v_primary record;
BEGIN
    FOR v_group IN
        SELECT DISTINCT n.groupid FROM pg_catalog.pg_dist_node n
        WHERE n.groupid <> 0 AND n.noderole = 'primary' AND n.nodecluster = 'default' ORDER BY 1
    LOOP
        v_primary := citus_standin.group_primary(v_group);
        PERFORM citus_standin.remote_command(v_group, v_primary.host, v_primary.port,
            pg_catalog.format('DROP SCHEMA IF EXISTS %I%s', p_schema, CASE WHEN p_cascade THEN ' CASCADE' ELSE '' END));
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION citus_standin.drop_schema_on_workers(text, bool) FROM PUBLIC;

-- Citus's partkey is a serialized Var; the stand-in's is the column name, returned as is.
CREATE FUNCTION pg_catalog.column_to_column_name(table_name regclass, column_var_text text) RETURNS text
LANGUAGE sql STABLE STRICT AS $$
    SELECT a.attname::text FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = $1 AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped
$$;

COMMENT ON EXTENSION citus IS
    'pgdrill Citus stand-in (NOT Citus): pg_dist_node and the node and shard functions Patroni and pgdrill use';
