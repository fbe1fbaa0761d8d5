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
 * it) and one more thing SQL cannot do: wait for a TCP connection to a worker *interruptibly*. Citus connects to
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

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "portability/instr_time.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/wait_event.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static ProcessUtility_hook_type previous_utility_hook = NULL;

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

void
_PG_init(void)
{
	previous_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = standin_utility;
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
