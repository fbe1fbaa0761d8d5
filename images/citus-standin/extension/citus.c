/*
 * pgdrill Citus stand-in -- this is NOT Citus.
 *
 * pgdrill's hermetic test image needs a PostgreSQL extension called `citus` so that Patroni, run in
 * its Citus mode, finds what it expects (`shared_preload_libraries = 'citus'`, `CREATE EXTENSION
 * citus`, pg_dist_node, citus_update_node(), ...). Real Citus cannot be installed where pgdrill's
 * own tests run, so this stand-in implements, in SQL, only the small part of Citus's interface that
 * Patroni and pgdrill use (see citus--12.1-standin.sql). It contains no Citus code.
 *
 * Besides the magic block (so that `shared_preload_libraries = 'citus'` loads), this file holds
 * TRUNCATE and DROP TABLE of a distributed table and DROP SCHEMA's propagation to the workers (a
 * utility hook: a view cannot be truncated or dropped as a table, so SQL alone cannot intercept
 * it), distributed transactions' bookkeeping and commit phase (a transaction callback: SQL cannot
 * act after a commit), the maintenance daemon that runs transaction recovery (a background
 * worker), and one more thing SQL cannot do: wait for a TCP connection to a worker *interruptibly*. Citus connects to
 * workers asynchronously and gives up after citus.node_connection_timeout (30 s by default), and a
 * backend stuck there can be cancelled or terminated at once -- which is what citus_update_node(...,
 * force => true) relies on when a worker has died. dblink_connect() on PostgreSQL 15 cannot be
 * interrupted, so the stand-in first waits here for the worker's TCP handshake, then lets dblink
 * connect to the address found (see citus_standin.connection()).
 *
 * It deliberately reserves no GUC prefix, so placeholders such as `citus.local_hostname` (set by
 * Patroni), `citus.shard_count` and `citus.node_connection_timeout` (read by the stand-in) stay
 * plain placeholders.
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "portability/instr_time.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/wait_event.h"

PG_MODULE_MAGIC;

void		_PG_init(void);
PGDLLEXPORT void citus_standin_maintenance_main(Datum arg);

static ProcessUtility_hook_type previous_utility_hook = NULL;

static long remaining_ms(instr_time start, int32 timeout_ms);
static void remote_transaction_callback(XactEvent event, void *arg);

/* Runs `sql` (one regclass parameter) once for each relation of `relids`, through SPI. */
static void
call_for_each(const char *sql, List *relids)
{
	ListCell   *cell;

	SPI_connect();
	foreach(cell, relids)
	{
		Oid			argtypes[1] = {OIDOID};
		Datum		values[1] = {ObjectIdGetDatum(lfirst_oid(cell))};

		SPI_execute_with_args(sql, 1, argtypes, values, NULL, false, 0);
	}
	SPI_finish();
}

/*
 * A TRUNCATE naming only views of distributed tables truncates them on the workers (the SQL's
 * citus_standin.truncate_distributed(), which refuses a view that is not a distributed table);
 * anything else goes on as PostgreSQL would (a view mixed with tables is refused, as PostgreSQL
 * refuses a view). Citus truncates a distributed table's shards the same way, from the coordinator.
 */
static bool
truncate_distributed_views(TruncateStmt *stmt)
{
	ListCell   *cell;
	List	   *views = NIL;

	if (!OidIsValid(get_namespace_oid("citus_standin", true)))
		return false;
	foreach(cell, stmt->relations)
	{
		Oid			relid = RangeVarGetRelid((RangeVar *) lfirst(cell), NoLock, true);

		if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_VIEW)
			return false;
		views = lappend_oid(views, relid);
	}
	if (views == NIL)
		return false;
	call_for_each("SELECT citus_standin.truncate_distributed($1::regclass)", views);
	return true;
}

/*
 * A DROP TABLE naming only views of distributed tables (or, with IF EXISTS, tables that are gone)
 * drops them everywhere through citus_standin.drop_distributed(); anything else goes on as
 * PostgreSQL would (a view among tables is refused there, as before).
 */
static bool
drop_distributed_views(DropStmt *stmt)
{
	ListCell   *cell;
	List	   *views = NIL;

	if (stmt->removeType != OBJECT_TABLE || !OidIsValid(get_namespace_oid("citus_standin", true)))
		return false;
	foreach(cell, stmt->objects)
	{
		Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList((List *) lfirst(cell)), NoLock, true);

		if (!OidIsValid(relid) && stmt->missing_ok)
			continue;
		if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_VIEW)
			return false;
		views = lappend_oid(views, relid);
	}
	if (views == NIL)
		return false;
	call_for_each("SELECT citus_standin.drop_distributed($1::regclass)", views);
	return true;
}

/* After the coordinator dropped schemas: the same on every worker group's primary. */
static void
drop_schemas_on_workers(DropStmt *stmt)
{
	ListCell   *cell;

	if (stmt->removeType != OBJECT_SCHEMA || !OidIsValid(get_namespace_oid("citus_standin", true)))
		return;
	SPI_connect();
	foreach(cell, stmt->objects)
	{
		Oid			argtypes[2] = {TEXTOID, BOOLOID};
		Datum		values[2] = {CStringGetTextDatum(strVal(lfirst(cell))),
								 BoolGetDatum(stmt->behavior == DROP_CASCADE)};

		SPI_execute_with_args("SELECT citus_standin.drop_schema_on_workers($1, $2)", 2, argtypes, values,
							  NULL, false, 0);
	}
	SPI_finish();
}

static void
standin_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree, ProcessUtilityContext context,
				ParamListInfo params, QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (IsA(pstmt->utilityStmt, TruncateStmt) && truncate_distributed_views((TruncateStmt *) pstmt->utilityStmt))
	{
		if (qc)
			SetQueryCompletion(qc, CMDTAG_TRUNCATE_TABLE, 0);
		return;
	}
	if (IsA(pstmt->utilityStmt, DropStmt) && drop_distributed_views((DropStmt *) pstmt->utilityStmt))
	{
		if (qc)
			SetQueryCompletion(qc, CMDTAG_DROP_TABLE, 0);
		return;
	}
	if (previous_utility_hook)
		previous_utility_hook(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	if (IsA(pstmt->utilityStmt, DropStmt))
		drop_schemas_on_workers((DropStmt *) pstmt->utilityStmt);
}

/*
 * Distributed transactions, as Citus runs them (transaction_management.c, remote_transaction.c):
 * inside a transaction block, the first command sent to a worker connection opens a transaction
 * there (the SQL's remote_command() sends BEGIN first: citus_standin.remote_prefix()); at the
 * coordinator's PRE_COMMIT, one participant is committed with COMMIT (one-phase), several are
 * prepared (two-phase: citus_standin.prepare_remote() writes a pg_dist_transaction record per
 * participant in the coordinator's own transaction, then sends PREPARE TRANSACTION); once the
 * coordinator has committed, each prepared participant gets COMMIT PREPARED, and on abort ROLLBACK
 * PREPARED -- over a libpq connection of this backend's (dblink's connections cannot be reached
 * from C; these go to the same worker address, so a link fault acts on them too). Failures then are
 * warnings only, as in Citus: what is left prepared is recovered by recover_prepared_transactions(),
 * which the maintenance daemon below runs every citus.recover_2pc_interval. A worker connection
 * left inside an aborted remote transaction gets ROLLBACK before its next command (Citus sends it
 * at the abort; here it waits for the connection's next use, bounded by the remote transaction's
 * idle_in_transaction_session_timeout of 60 s). A participant whose connection was closed fails
 * the commit; one that answers COMMIT or PREPARE with ROLLBACK too. Savepoints are not handled (a
 * rolled-back savepoint's remote writes stay in the remote transaction); an abort while a PREPARE
 * is still in flight may leave it for recovery. The commit phase's connections have no hostaddr
 * (a name lookup, local in Docker, outside their 5 s bound per participant).
 */
#define MAX_PARTICIPANTS 64
#define CONN_NAME_LEN 256
#define CONNINFO_LEN 2048
#define GID_LEN 200
/* Bound on one COMMIT/ROLLBACK PREPARED after the coordinator's commit (interrupts are held then). */
#define FINISH_TIMEOUT_MS 5000

typedef struct Participant
{
	char		conn[CONN_NAME_LEN];	/* the dblink connection's name */
	char		conninfo[CONNINFO_LEN]; /* set once prepared (or being prepared) */
	char		gid[GID_LEN];
	bool		lost;			/* its connection was closed: its part of the transaction is gone */
} Participant;

static Participant participants[MAX_PARTICIPANTS];
static int	participant_count = 0;
/* Connections left inside a remote transaction that the coordinator aborted. */
static char dirty[MAX_PARTICIPANTS][CONN_NAME_LEN];
static int	dirty_count = 0;
/* More aborted connections than `dirty` holds: every connection gets ROLLBACK first. */
static bool dirty_overflow = false;

/* Cached libpq connections for the commit phase, by conninfo (one per worker primary). */
#define FINISH_CONNS 8
typedef struct FinishConn
{
	PGconn	   *conn;
	char		conninfo[CONNINFO_LEN];
} FinishConn;
static FinishConn finish_conns[FINISH_CONNS];
static int	finish_next = 0;

static int
find_participant(const char *conn)
{
	for (int i = 0; i < participant_count; i++)
		if (strcmp(participants[i].conn, conn) == 0)
			return i;
	return -1;
}

static bool
take_dirty(const char *conn)
{
	for (int i = 0; i < dirty_count; i++)
		if (strcmp(dirty[i], conn) == 0)
		{
			memmove(dirty[i], dirty[dirty_count - 1], CONN_NAME_LEN);
			dirty_count--;
			return true;
		}
	return false;
}

/* Waits (bounded, uninterruptibly: used after the local commit) for conn's socket. */
static bool
wait_socket(PGconn *conn, bool for_write, long deadline_ms, instr_time start)
{
	long		left = remaining_ms(start, deadline_ms);
	int			events;

	/* A closed socket would make WaitLatchOrSocket raise an ERROR: a PANIC after the commit. */
	if (left <= 0 || PQsocket(conn) < 0)
		return false;
	events = WaitLatchOrSocket(NULL, (for_write ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE) | WL_TIMEOUT |
							   WL_EXIT_ON_PM_DEATH, PQsocket(conn), left, PG_WAIT_EXTENSION);
	return (events & WL_TIMEOUT) == 0;
}

/*
 * Whether an idle cached connection is still open: a peer that closed or reset it (a worker
 * restarted, a link reset) has left its socket readable, and reading finds the end. Checked before
 * a command is sent, never after: a command lost on the way is left to recovery, as in Citus.
 */
static bool
still_open(PGconn *conn)
{
	int			events;

	if (PQsocket(conn) < 0)
		return false;
	events = WaitLatchOrSocket(NULL, WL_SOCKET_READABLE | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, PQsocket(conn), 0,
							   PG_WAIT_EXTENSION);
	if ((events & WL_SOCKET_READABLE) == 0)
		return true;
	return PQconsumeInput(conn) && PQstatus(conn) == CONNECTION_OK;
}

/* The cached connection for `conninfo`, made when missing or broken (bounded); NULL on failure. */
static PGconn *
finish_connection(const char *conninfo, instr_time start)
{
	FinishConn *slot = NULL;
	PostgresPollingStatusType poll = PGRES_POLLING_WRITING;

	for (int i = 0; i < FINISH_CONNS && slot == NULL; i++)
		if (finish_conns[i].conn != NULL && strcmp(finish_conns[i].conninfo, conninfo) == 0)
			slot = &finish_conns[i];
	if (slot != NULL && PQstatus(slot->conn) == CONNECTION_OK && still_open(slot->conn))
		return slot->conn;
	if (slot == NULL)
	{
		slot = &finish_conns[finish_next];
		finish_next = (finish_next + 1) % FINISH_CONNS;
	}
	PQfinish(slot->conn);
	strlcpy(slot->conninfo, conninfo, CONNINFO_LEN);
	slot->conn = PQconnectStart(conninfo);
	while (slot->conn != NULL && PQstatus(slot->conn) != CONNECTION_BAD && poll != PGRES_POLLING_OK)
	{
		if (poll == PGRES_POLLING_FAILED ||
			!wait_socket(slot->conn, poll == PGRES_POLLING_WRITING, FINISH_TIMEOUT_MS, start))
			break;
		poll = PQconnectPoll(slot->conn);
	}
	if (slot->conn == NULL || poll != PGRES_POLLING_OK)
	{
		ereport(WARNING, (errmsg("could not connect to a worker to end a prepared transaction: %s",
								 slot->conn ? PQerrorMessage(slot->conn) : "out of memory")));
		PQfinish(slot->conn);
		slot->conn = NULL;
		return NULL;
	}
	PQsetnonblocking(slot->conn, 1);
	return slot->conn;
}

/* Forgets a broken cached connection. */
static void
finish_drop(PGconn *conn)
{
	for (int i = 0; i < FINISH_CONNS; i++)
		if (finish_conns[i].conn == conn)
			finish_conns[i].conn = NULL;
	PQfinish(conn);
}

/* Sends `command` over `conn` and reads its results, all within the deadline; a text saying why
 * not, or NULL. *rejected: the worker answered with an error other than 42704. */
static const char *
run_finish(PGconn *conn, const char *command, instr_time start, bool *rejected)
{
	PGresult   *result;

	*rejected = false;
	if (!PQsendQuery(conn, command))
		return PQerrorMessage(conn);
	for (int flushed; (flushed = PQflush(conn)) != 0;)
		if (flushed < 0 || !wait_socket(conn, true, FINISH_TIMEOUT_MS, start))
			return "could not send it in time";
	for (;;)
	{
		if (!PQconsumeInput(conn))
			return PQerrorMessage(conn);
		if (PQisBusy(conn))
		{
			if (!wait_socket(conn, false, FINISH_TIMEOUT_MS, start))
				return "no answer in time";
			continue;
		}
		result = PQgetResult(conn);
		if (result == NULL)
			return NULL;
		if (PQresultStatus(result) != PGRES_COMMAND_OK)
		{
			const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);

			/* 42704: recovery finished it already; nothing is lost. */
			if (state == NULL || strcmp(state, "42704") != 0)
			{
				ereport(WARNING, (errmsg("\"%s\" failed on a worker: %s", command, PQresultErrorMessage(result))));
				*rejected = true;
			}
		}
		PQclear(result);
	}
}

/* Runs `command` over the cached connection for `conninfo`; false (and a warning) when it failed. */
static bool
finish_command(const char *conninfo, const char *command)
{
	instr_time	start;
	bool		rejected;
	const char *failure;
	PGconn	   *conn;

	INSTR_TIME_SET_CURRENT(start);
	conn = finish_connection(conninfo, start);
	if (conn == NULL)
		return false;
	failure = run_finish(conn, command, start, &rejected);
	if (failure == NULL)
		return !rejected;
	ereport(WARNING, (errmsg("failed to run \"%s\" on a worker: %s", command, failure)));
	finish_drop(conn);
	return false;
}

/* COMMIT PREPARED or ROLLBACK PREPARED of every participant that was (being) prepared. */
static void
finish_prepared(const char *verb)
{
	for (int i = 0; i < participant_count; i++)
	{
		char		command[GID_LEN + 40];

		if (participants[i].gid[0] == '\0')
			continue;
		snprintf(command, sizeof(command), "%s '%s'", verb, participants[i].gid);
		/* After the local commit an ERROR would be a PANIC: anything raised is a warning. */
		PG_TRY();
		{
			finish_command(participants[i].conninfo, command);
		}
		PG_CATCH();
		{
			ErrorData  *error;

			MemoryContextSwitchTo(TopMemoryContext);
			error = CopyErrorData();
			FlushErrorState();
			ereport(WARNING, (errmsg("\"%s\" on a worker: %s", command, error->message)));
			FreeErrorData(error);
		}
		PG_END_TRY();
	}
}

static void
call_sql(const char *sql, int nargs, Oid *argtypes, Datum *values)
{
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_execute_with_args(sql, nargs, argtypes, values, NULL, false, 0);
	PopActiveSnapshot();
	SPI_finish();
}

/* Ends the remote transactions of the coordinator's transaction (see above). */
static void
remote_transaction_callback(XactEvent event, void *arg)
{
	if (participant_count == 0)
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			/* As Citus: the coordinator's own PREPARE cannot carry its workers' transactions. */
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							errmsg("cannot PREPARE a transaction that has used worker connections")));
			break;
		case XACT_EVENT_PRE_COMMIT:
			{
				for (int i = 0; i < participant_count; i++)
					if (participants[i].lost)
						ereport(ERROR, (errcode(ERRCODE_TRANSACTION_ROLLBACK),
										errmsg("the connection %s of this transaction was lost with its part of it",
											   participants[i].conn)));
			}
			{
				Datum	   *names = palloc(sizeof(Datum) * participant_count);
				Oid			argtypes[1] = {TEXTARRAYOID};
				Datum		values[1];

				for (int i = 0; i < participant_count; i++)
					names[i] = CStringGetTextDatum(participants[i].conn);
				values[0] = PointerGetDatum(construct_array(names, participant_count, TEXTOID, -1, false, TYPALIGN_INT));
				if (participant_count == 1)
				{
					call_sql("SELECT citus_standin.commit_remote($1[1])", 1, argtypes, values);
					participant_count = 0;
				}
				else
					call_sql("SELECT citus_standin.prepare_remote($1)", 1, argtypes, values);
				break;
			}
		case XACT_EVENT_COMMIT:
			finish_prepared("COMMIT PREPARED");
			participant_count = 0;
			break;
		case XACT_EVENT_ABORT:
			finish_prepared("ROLLBACK PREPARED");
			for (int i = 0; i < participant_count; i++)
			{
				if (participants[i].gid[0] != '\0' || participants[i].lost)
					continue;
				if (dirty_count < MAX_PARTICIPANTS)
					strlcpy(dirty[dirty_count++], participants[i].conn, CONN_NAME_LEN);
				else
					dirty_overflow = true;
			}
			participant_count = 0;
			break;
		default:
			break;
	}
}

PG_FUNCTION_INFO_V1(citus_standin_remote_prefix);

/*
 * citus_standin.remote_prefix(conn text) RETURNS text[]
 *
 * The commands to send over dblink connection `conn` before the next one: ROLLBACK when the
 * connection was left inside an aborted remote transaction, BEGIN when this command opens its
 * part of the coordinator's transaction block (the connection is then a participant). Call it
 * outside PL/pgSQL exception blocks: inside one (a subtransaction) every statement looks like a
 * transaction block.
 */
Datum
citus_standin_remote_prefix(PG_FUNCTION_ARGS)
{
	char	   *conn = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Datum		commands[2];
	int			count = 0;

	if (strlen(conn) >= CONN_NAME_LEN)
		ereport(ERROR, (errmsg("connection name too long: %s", conn)));
	if (take_dirty(conn) || dirty_overflow)
		commands[count++] = CStringGetTextDatum("ROLLBACK");
	if (find_participant(conn) >= 0 && participants[find_participant(conn)].lost)
		ereport(ERROR, (errcode(ERRCODE_TRANSACTION_ROLLBACK),
						errmsg("the connection %s of this transaction was lost with its part of it", conn)));
	if (IsTransactionBlock() && find_participant(conn) < 0)
	{
		if (participant_count >= MAX_PARTICIPANTS)
			ereport(ERROR, (errmsg("a transaction may use at most %d worker connections here", MAX_PARTICIPANTS)));
		memset(&participants[participant_count], 0, sizeof(Participant));
		strlcpy(participants[participant_count].conn, conn, CONN_NAME_LEN);
		participant_count++;
		/* Bounded, for a remote transaction an abort leaves open until the connection's next use. */
		commands[count++] = CStringGetTextDatum("BEGIN; SET LOCAL idle_in_transaction_session_timeout = 60000");
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(commands, count, TEXTOID, -1, false, TYPALIGN_INT));
}

PG_FUNCTION_INFO_V1(citus_standin_in_remote_transaction);

/* citus_standin.in_remote_transaction(conn text) RETURNS bool: conn is a participant already. */
Datum
citus_standin_in_remote_transaction(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(find_participant(text_to_cstring(PG_GETARG_TEXT_PP(0))) >= 0);
}

PG_FUNCTION_INFO_V1(citus_standin_participant_lost);

/* citus_standin.participant_lost(conn text) RETURNS void: conn is being closed (see forget()). */
Datum
citus_standin_participant_lost(PG_FUNCTION_ARGS)
{
	int			i = find_participant(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	if (i >= 0)
		participants[i].lost = true;
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(citus_standin_note_prepare);

/*
 * citus_standin.note_prepare(conn text, conninfo text, gid text) RETURNS void: called just before
 * PREPARE TRANSACTION is sent, so that an abort rolls it back and a commit commits it.
 */
Datum
citus_standin_note_prepare(PG_FUNCTION_ARGS)
{
	int			i = find_participant(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	char	   *conninfo = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *gid = text_to_cstring(PG_GETARG_TEXT_PP(2));

	if (i < 0)
		ereport(ERROR, (errmsg("not a participant of this transaction")));
	if (strlen(conninfo) >= CONNINFO_LEN || strlen(gid) >= GID_LEN)
		ereport(ERROR, (errmsg("connection string or transaction name too long")));
	/* It is put between quotes in COMMIT/ROLLBACK PREPARED. */
	if (strspn(gid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(gid))
		ereport(ERROR, (errmsg("invalid transaction name: %s", gid)));
	strlcpy(participants[i].conninfo, conninfo, CONNINFO_LEN);
	strlcpy(participants[i].gid, gid, GID_LEN);
	PG_RETURN_VOID();
}

/*
 * The maintenance daemon: runs citus_standin.maintenance() (transaction recovery) on a primary,
 * then sleeps for the milliseconds it returns; wakes early on SIGHUP (citus.recover_2pc_interval
 * may have changed). Errors are reported and retried after a second.
 */
static long
maintenance_round(void)
{
	long		wait_ms = 5000;
	MemoryContext context = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "citus maintenance");
		/* A frozen worker must not hang recovery (a bgworker's statements have no timeout). */
		enable_timeout_after(STATEMENT_TIMEOUT, 60000);
		if (SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus'", true, 1) == SPI_OK_SELECT &&
			SPI_processed == 1 &&
			SPI_execute("SELECT citus_standin.maintenance()", false, 1) == SPI_OK_SELECT && SPI_processed == 1)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull)
				wait_ms = DatumGetInt32(d);
		}
		disable_timeout(STATEMENT_TIMEOUT, false);
		PopActiveSnapshot();
		SPI_finish();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(context);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		wait_ms = 1000;
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return wait_ms;
}

void
citus_standin_maintenance_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection("citus", NULL, 0);
	for (;;)
	{
		long		wait_ms = 1000;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!RecoveryInProgress())
			wait_ms = maintenance_round();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, Max(wait_ms, 100),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}


void
_PG_init(void)
{
	BackgroundWorker worker;

	previous_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = standin_utility;
	RegisterXactCallback(remote_transaction_callback, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
	/* The maintenance daemon (Citus's runs one per database; pgdrill's Citus database is "citus"). */
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "citus");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "citus_standin_maintenance_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "Citus Maintenance Daemon (pgdrill stand-in)");
	snprintf(worker.bgw_type, BGW_MAXLEN, "Citus Maintenance Daemon");
	RegisterBackgroundWorker(&worker);
}

PG_FUNCTION_INFO_V1(citus_standin_wait_for_node);

/* Milliseconds left of timeout_ms since start (0 when none are). */
static long
remaining_ms(instr_time start, int32 timeout_ms)
{
	instr_time	now;
	double		elapsed;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	elapsed = INSTR_TIME_GET_MILLISEC(now);
	return elapsed >= timeout_ms ? 0 : (long) (timeout_ms - elapsed);
}

/*
 * citus_standin.wait_for_node(host text, port int, timeout_ms int) RETURNS text
 *
 * Resolves host (as libpq does: getaddrinfo, which cannot be interrupted -- nor can it in Citus) and
 * opens a TCP connection to port on each address in turn until one is accepted, waiting on the
 * process latch so that a cancel or pg_terminate_backend() takes effect immediately. Returns the
 * numeric address that accepted; the connection itself is closed again at once (a PostgreSQL server
 * does not log a connection that sends nothing). Errors: the host cannot be resolved, every address
 * refused or was unreachable, or timeout_ms passed (counted from the call, name lookup included, as
 * Citus counts citus.node_connection_timeout).
 */
Datum
citus_standin_wait_for_node(PG_FUNCTION_ARGS)
{
	char	   *host = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32		port = PG_GETARG_INT32(1);
	int32		timeout_ms = PG_GETARG_INT32(2);
	char		service[16];
	char		address[NI_MAXHOST] = "";
	struct addrinfo hints;
	struct addrinfo *addresses = NULL;
	volatile int sock = -1;
	volatile int last_errno = 0;
	volatile bool connected = false;
	volatile bool timed_out = false;
	instr_time	start;
	int			rc;

	INSTR_TIME_SET_CURRENT(start);
	snprintf(service, sizeof(service), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	rc = getaddrinfo(host, service, &hints, &addresses);
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("connection to the remote node %s:%d failed with the following error: "
						"could not translate host name \"%s\" to address: %s",
						host, port, host, gai_strerror(rc))));

	PG_TRY();
	{
		struct addrinfo *ai;

		for (ai = addresses; ai != NULL && !connected && !timed_out; ai = ai->ai_next)
		{
			sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
			if (sock < 0 || fcntl(sock, F_SETFL, O_NONBLOCK) < 0 || fcntl(sock, F_SETFD, FD_CLOEXEC) < 0)
			{
				last_errno = errno;
			}
			else if (connect(sock, ai->ai_addr, ai->ai_addrlen) == 0)
			{
				connected = true;
			}
			else if (errno != EINPROGRESS)
			{
				last_errno = errno;
			}
			else
			{
				for (;;)
				{
					long		left = remaining_ms(start, timeout_ms);
					int			events;

					if (left <= 0)
					{
						timed_out = true;
						break;
					}
					events = WaitLatchOrSocket(MyLatch,
											   WL_LATCH_SET | WL_SOCKET_CONNECTED | WL_TIMEOUT |
											   WL_EXIT_ON_PM_DEATH,
											   sock, left, PG_WAIT_EXTENSION);
					if (events & WL_LATCH_SET)
					{
						ResetLatch(MyLatch);
						CHECK_FOR_INTERRUPTS();
					}
					if (events & WL_SOCKET_CONNECTED)
					{
						int			error = 0;
						socklen_t	length = sizeof(error);

						if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &error, &length) < 0)
							error = errno;
						if (error == 0)
							connected = true;
						else
							last_errno = error;
						break;
					}
				}
			}
			if (connected)
			{
				if (getnameinfo(ai->ai_addr, ai->ai_addrlen, address, sizeof(address), NULL, 0,
								NI_NUMERICHOST) != 0)
					address[0] = '\0';
			}
			if (sock >= 0)
			{
				close(sock);
				sock = -1;
			}
		}
	}
	PG_FINALLY();
	{
		if (sock >= 0)
			close(sock);
		freeaddrinfo(addresses);
	}
	PG_END_TRY();

	if (timed_out)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not establish any connections to the node %s:%d after %d ms",
						host, port, timeout_ms)));
	if (!connected || address[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("connection to the remote node %s:%d failed with the following error: %s",
						host, port, last_errno != 0 ? strerror(last_errno) : "no usable address")));
	PG_RETURN_TEXT_P(cstring_to_text(address));
}
