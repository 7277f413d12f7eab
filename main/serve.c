/*
 * serve.c — `slod serve`.
 *
 * Startup order, so that /-/ready is honest:
 *   1. block SIGTERM/SIGINT in this thread (inherited by every thread started later);
 *   2. start the HTTP server (health answers, data routes 503);
 *   3. tsdb_open() replays snapshot + WAL; then api_server_set_backend() marks the server ready;
 *   4. start the maintenance thread: retention every minute and a checkpoint (snapshot + WAL
 *      truncation) every checkpoint_interval, with at most one job running at a time;
 *   5. sigwait() for SIGTERM/SIGINT.
 * Shutdown: stop HTTP (in-flight requests finish), stop maintenance, tsdb_close() (flushes WAL).
 * A second signal during shutdown is not special: shutdown is bounded by in-flight requests.
 */
#include "main/serve.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "promql/engine.h"
#include "tsdb/tsdb.h"
#include "util/clock.h"
#include "util/log.h"

typedef struct maint {
	tsdb *db;
	const main_settings *s;
	const slod_logger *log;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
} maint;

static void *maint_main(void *arg)
{
	maint *m = arg;
	slod_clock clk = slod_clock_system();
	int64_t next_retention = slod_monotonic_ms() + 60 * 1000;
	int64_t next_checkpoint = slod_monotonic_ms() + m->s->checkpoint_interval_ms;
	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		int64_t now = slod_monotonic_ms();
		int64_t wake = next_retention < next_checkpoint ? next_retention : next_checkpoint;
		if (now < wake) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			int64_t wait = wake - now;
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&m->cond, &m->lock, &ts);
			continue;
		}
		pthread_mutex_unlock(&m->lock);
		if (now >= next_retention) {
			long dropped = tsdb_apply_retention(m->db, slod_clock_now(&clk));
			if (dropped > 0)
				slod_log(m->log, SLOD_LOG_INFO, "main", "retention dropped %ld chunks", dropped);
			next_retention = now + 60 * 1000;
		}
		if (now >= next_checkpoint && m->s->checkpoint_interval_ms > 0) {
			char err[256] = "";
			int64_t t0 = slod_monotonic_ms();
			if (tsdb_checkpoint(m->db, err, sizeof err) != 0)
				slod_log(m->log, SLOD_LOG_ERROR, "main", "checkpoint failed: %s", err);
			else
				slod_log(m->log, SLOD_LOG_INFO, "main", "checkpoint done in %lld ms",
					 (long long)(slod_monotonic_ms() - t0));
			next_checkpoint = slod_monotonic_ms() + m->s->checkpoint_interval_ms;
		}
		if (m->s->checkpoint_interval_ms <= 0)
			next_checkpoint = INT64_MAX;
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

static const char *fsync_name(tsdb_fsync_policy p)
{
	return p == TSDB_FSYNC_ALWAYS ? "always" : p == TSDB_FSYNC_INTERVAL ? "interval" : "never";
}

int main_serve(const main_settings *s, const char *version)
{
	int rc = 1;
	char err[512] = "";
	api_server *srv = NULL;
	tsdb *db = NULL;
	promql_engine *engine = NULL;
	maint m;
	bool maint_started = false;
	pthread_t maint_thread;
	slod_logger log = {slod_log_stderr, NULL, s->log_level};

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	api_options ao;
	api_options_default(&ao);
	ao.listen_address = s->listen;
	ao.max_body_bytes = s->max_body_bytes;
	ao.version = version;
	ao.logger = log;
	if (api_server_start(&ao, &srv, err, sizeof err) != 0) {
		slod_log(&log, SLOD_LOG_ERROR, "main", "%s", err);
		fprintf(stderr, "slod: %s\n", err);
		goto out;
	}
	char host[300];
	snprintf(host, sizeof host, "%s", s->listen);
	char *colon = strrchr(host, ':');
	if (colon)
		*colon = '\0';
	if (!host[0] || strcmp(host, "0.0.0.0") == 0)
		snprintf(host, sizeof host, "localhost");
	unsigned port = api_server_port(srv);
	printf("slod %s listening on http://%s:%u\n"
	       "  remote write: point Prometheus at  remote_write: [{url: http://%s:%u/api/v1/write}]\n"
	       "  Grafana/PromQL data source URL:    http://%s:%u\n"
	       "  health: http://%s:%u/-/ready   own metrics: http://%s:%u/metrics\n"
	       "  storage: %s (retention %llds, wal fsync %s)\n",
	       version, host, port, host, port, host, port, host, port, host, port, s->storage_path,
	       (long long)(s->retention_ms / 1000), fsync_name(s->fsync));
	fflush(stdout);

	tsdb_options to;
	tsdb_options_default(&to);
	to.dir = s->storage_path;
	to.retention_ms = s->retention_ms;
	to.ooo_window_ms = s->ooo_window_ms;
	to.fsync_policy = s->fsync;
	to.fsync_interval_ms = s->fsync_interval_ms;
	to.logger = log;
	int64_t t0 = slod_monotonic_ms();
	if (tsdb_open(&to, &db, err, sizeof err) != 0) {
		slod_log(&log, SLOD_LOG_ERROR, "main", "cannot open storage at %s: %s", s->storage_path, err);
		fprintf(stderr, "slod: cannot open storage at %s: %s\n", s->storage_path, err);
		goto out;
	}
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	slod_log(&log, SLOD_LOG_INFO, "main", "storage ready in %lld ms: %llu series",
		 (long long)(slod_monotonic_ms() - t0), (unsigned long long)st.series);
	engine = promql_engine_new(NULL);
	api_backend be = {.db = db, .ingest_limits = NULL, .engine = engine};
	if (!engine || api_server_set_backend(srv, &be) != 0) {
		slod_log(&log, SLOD_LOG_ERROR, "main", "out of memory creating the query engine");
		goto out;
	}

	m.db = db;
	m.s = s;
	m.log = &log;
	m.stop = false;
	pthread_mutex_init(&m.lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m.cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&maint_thread, NULL, maint_main, &m) != 0) {
		slod_log(&log, SLOD_LOG_ERROR, "main", "cannot start the maintenance thread");
		goto out;
	}
	maint_started = true;

	int sig = 0;
	while (sigwait(&sigs, &sig) != 0)
		;
	slod_log(&log, SLOD_LOG_INFO, "main", "received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	rc = 0;
out:
	api_server_stop(srv);
	if (maint_started) {
		pthread_mutex_lock(&m.lock);
		m.stop = true;
		pthread_cond_signal(&m.cond);
		pthread_mutex_unlock(&m.lock);
		pthread_join(maint_thread, NULL);
		pthread_cond_destroy(&m.cond);
		pthread_mutex_destroy(&m.lock);
	}
	promql_engine_free(engine);
	tsdb_close(db);
	if (rc == 0)
		slod_log(&log, SLOD_LOG_INFO, "main", "shutdown complete");
	return rc;
}
