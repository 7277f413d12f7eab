/*
 * serve.c — `slod serve`.
 *
 * Startup order, so that /-/ready is honest:
 *   1. block SIGTERM/SIGINT in this thread (inherited by every thread started later);
 *   2. start the HTTP server (health answers, data routes 503);
 *   3. tsdb_open() replays snapshot + WAL; then api_server_set_backend() marks the server ready;
 *   3b. load SLO specs (--slo.files or the embedded examples) and rule files, create the notifier
 *      (if targets are configured), the rules manager and the SLO engine, start their threads;
 *      then publish everything to the API (ready);
 *   4. start the maintenance thread: retention every minute and a checkpoint (snapshot + WAL
 *      truncation) every checkpoint_interval, with at most one job running at a time;
 *   5. sigwait() for SIGTERM/SIGINT; SIGHUP (and POST /-/reload) re-read the config file, SLO
 *      specs and rule files and swap in a new SLO engine (reload(); nothing changes on error).
 * Shutdown: stop HTTP (in-flight requests finish), stop maintenance, tsdb_close() (flushes WAL).
 * A second signal during shutdown is not special: shutdown is bounded by in-flight requests.
 */
#include "main/serve.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "alerting/alerting.h"
#include "api/api.h"
#include "main/examples.h"
#include "promql/engine.h"
#include "rules/rules.h"
#include "slo/eval.h"
#include "slo/rulefile.h"
#include "slo/slo.h"
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
			struct timespec ts = slod_deadline_in_ms(CLOCK_MONOTONIC, wake - now);
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

/* rules → alerting: hands firing and just-resolved alerts of one group to the notifier. */
static void on_alerts(void *ud, const char *group_key, const rules_alert *alerts, size_t n)
{
	alerting *al = ud;
	alerting_alert *out = calloc(n ? n : 1, sizeof *out);
	if (!out)
		return;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (alerts[i].state != RULES_ALERT_FIRING && alerts[i].state != RULES_ALERT_RESOLVED)
			continue;
		out[k].labels = alerts[i].labels;
		out[k].annotations = alerts[i].annotations;
		out[k].starts_at_ms = alerts[i].fired_at_ms ? alerts[i].fired_at_ms : alerts[i].active_at_ms;
		out[k].resolved_at_ms = alerts[i].state == RULES_ALERT_RESOLVED ? alerts[i].resolved_at_ms : 0;
		k++;
	}
	alerting_send(al, group_key, out, k);
	free(out);
}

/* Loads the SLO specs (files, the embedded examples, or none) and validates them; logs every
 * diagnostic. Returns 0, or -1 when any spec has an error. */
static int load_slos(const main_settings *s, slo_set *set, const slod_logger *log)
{
	if (s->n_slo_files == 1 && strcmp(s->slo_files[0], "none") == 0)
		return 0;
	if (s->n_slo_files == 0) {
		for (const main_example *e = main_examples; e->name; e++)
			slo_load_buffer(set, e->name, e->data, e->len);
	} else {
		for (size_t i = 0; i < s->n_slo_files; i++)
			slo_load_path(set, s->slo_files[i]);
	}
	slo_gen_options go;
	memset(&go, 0, sizeof go);
	slo_validate(set, &go);
	const slo_diag *d;
	size_t nd = slo_set_diags(set, &d);
	for (size_t i = 0; i < nd; i++) {
		char msg[1024];
		slo_diag_format(&d[i], msg, sizeof msg);
		slod_log(log, d[i].severity == SLO_DIAG_ERROR ? SLOD_LOG_ERROR : SLOD_LOG_WARN, "slo", "%s", msg);
	}
	return slo_set_error_count(set) ? -1 : 0;
}

/* Each HTTP connection holds a file descriptor: raises the soft RLIMIT_NOFILE towards the hard one so
 * that want connections fit next to the WAL, snapshots and outbound sockets (FD_RESERVE), and
 * returns the number of connections that fit (want, or fewer with a warning). */
#define FD_RESERVE 256
static unsigned fit_fd_limit(unsigned want, const slod_logger *log)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	rlim_t need = (rlim_t)want + FD_RESERVE;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rlim_t cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
		struct rlimit nl = {cur, rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
			rl.rlim_cur = cur;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return want;
	unsigned fit = rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE) : (unsigned)(rl.rlim_cur / 2);
	slod_log(log, SLOD_LOG_WARN, "main",
		 "open-file limit %llu: serving at most %u HTTP connections instead of %u (raise ulimit -n)",
		 (unsigned long long)rl.rlim_cur, fit, want);
	return fit ? fit : 1;
}

/* What a reload replaces, and what it needs to build the replacement. Guarded by lock (reloads
 * come from SIGHUP in the main thread and from POST /-/reload on HTTP threads). */
typedef struct reloader {
	pthread_mutex_t lock;
	main_settings flags;        /* the command-line settings; the config file is re-read over them */
	main_settings running;      /* the effective settings slod started with */
	int64_t eval_interval_ms;   /* fixed at startup */
	const slod_logger *log;
	api_server *srv;
	tsdb *db;
	promql_engine *engine;
	rules_manager *rm;
	/* owned, current */
	slo_set *set;
	slo_rulefile *rulefile;
	slo_engine *se;
} reloader;

/* Loads rule files for every glob of s into *rf (appending). 0 or -1 with err. */
static int load_rule_files(const main_settings *s, slo_rulefile **rf, char *err, size_t errlen)
{
	for (size_t i = 0; i < s->n_rule_files; i++) {
		char e[512];
		if (slo_rulefile_load_glob(rf, s->rule_files[i], e, sizeof e) != 0) {
			snprintf(err, errlen, "rule files %s: %s", s->rule_files[i], e);
			return -1;
		}
	}
	return 0;
}

/* Re-reads the config file (over the command-line flags), the SLO specs and the rule files, builds
 * a new SLO engine (which hands the new rule groups to the rules manager; alert state of unchanged
 * rules carries over), swaps it into the API and frees the old one. On any error nothing changes.
 * Settings other than SLO specs and rule files need a restart: the ones that changed are named in
 * a warning (main_settings_restart_diff). */
static int reload(void *ud, char *err, size_t errlen)
{
	reloader *rl = ud;
	int rc = -1;
	slo_set *set = NULL;
	slo_rulefile *rf = NULL;
	slo_engine *se = NULL;
	main_settings *ns = malloc(sizeof *ns);
	pthread_mutex_lock(&rl->lock);
	if (!ns) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	*ns = rl->flags;
	if (ns->config_file[0] && main_config_load(ns->config_file, ns, err, errlen) != 0)
		goto out;
	char changed[512];
	if (main_settings_restart_diff(&rl->running, ns, changed, sizeof changed) > 0)
		slod_log(rl->log, SLOD_LOG_WARN, "main",
			 "changed settings take effect at the next restart (a reload applies SLO specs and rule files): %s",
			 changed);
	set = slo_set_new();
	if (!set) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (load_slos(ns, set, rl->log) != 0) {
		snprintf(err, errlen, "the SLO specs have errors (see the log)");
		goto out;
	}
	if (load_rule_files(ns, &rf, err, errlen) != 0)
		goto out;
	size_t n_user = 0;
	const rules_group_def *user = rf ? slo_rulefile_groups(rf, &n_user) : NULL;
	slo_engine_options so;
	memset(&so, 0, sizeof so);
	so.set = set;
	so.user_groups = user;
	so.n_user_groups = n_user;
	so.rules = rl->rm;
	so.db = rl->db;
	so.engine = rl->engine;
	so.logger = *rl->log;
	if (slo_engine_new(&so, &se, err, errlen) != 0)
		goto out;
	if (slo_engine_start(se, rl->eval_interval_ms) != 0) {
		snprintf(err, errlen, "cannot start the SLO evaluation thread");
		goto out;
	}
	slo_engine *old = api_server_swap_slo(rl->srv, se);
	slo_engine_free(old);
	slo_set_free(rl->set);
	slo_rulefile_free(rl->rulefile);
	rl->se = se;
	rl->set = set;
	rl->rulefile = rf;
	slod_log(rl->log, SLOD_LOG_INFO, "main", "reloaded: %zu SLOs, %zu rule groups", slo_engine_n_slos(se),
		 slo_engine_n_groups(se) + n_user);
	se = NULL;
	set = NULL;
	rf = NULL;
	rc = 0;
out:
	if (rc != 0)
		slod_log(rl->log, SLOD_LOG_ERROR, "main", "reload failed, the previous configuration keeps running: %s",
			 err);
	pthread_mutex_unlock(&rl->lock);
	slo_engine_free(se);
	slo_rulefile_free(rf);
	slo_set_free(set);
	free(ns);
	return rc;
}

static const char *fsync_name(tsdb_fsync_policy p)
{
	return p == TSDB_FSYNC_ALWAYS ? "always" : p == TSDB_FSYNC_INTERVAL ? "interval" : "never";
}

int main_serve(const main_settings *s, const main_settings *flags_only, const char *version)
{
	int rc = 1;
	char err[512] = "";
	api_server *srv = NULL;
	tsdb *db = NULL;
	promql_engine *engine = NULL;
	slo_set *set = NULL;
	slo_rulefile *rulefile = NULL;
	rules_manager *rm = NULL;
	slo_engine *se = NULL;
	alerting *al = NULL;
	alerting_target_config targets[MAIN_MAX_LIST];
	char state_dir[MAIN_PATH_MAX + 16];
	char external_url[400];
	maint m;
	reloader *rl = NULL;
	bool maint_started = false;
	pthread_t maint_thread;
	slod_logger log = {slod_log_stderr, NULL, s->log_level};

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	alerting_global_init();
	rl = calloc(1, sizeof *rl);
	if (!rl) {
		fprintf(stderr, "slod: out of memory\n");
		goto out;
	}
	pthread_mutex_init(&rl->lock, NULL);
	rl->flags = *flags_only;
	rl->running = *s;
	rl->eval_interval_ms = s->eval_interval_ms;
	rl->log = &log;

	api_options ao;
	api_options_default(&ao);
	ao.listen_address = s->listen;
	ao.max_body_bytes = s->max_body_bytes;
	ao.max_connections = s->max_connections > 1000000 ? 1000000u : (unsigned)s->max_connections;
	ao.max_connections_per_ip = s->max_connections_per_ip > 1000000 ? 1000000u : (unsigned)s->max_connections_per_ip;
	ao.version = version;
	ao.logger = log;
	ao.reload = reload;
	ao.reload_ud = rl;
	ao.max_connections = fit_fd_limit(ao.max_connections, &log);
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
	       "  SLO page:      open http://%s:%u/ in a browser\n"
	       "  remote write:  point Prometheus at  remote_write: [{url: http://%s:%u/api/v1/write}]\n"
	       "  Grafana:       add a Prometheus data source with URL http://%s:%u\n"
	       "  health: http://%s:%u/-/ready   own metrics: http://%s:%u/metrics\n"
	       "  storage: %s (retention %llds, wal fsync %s)\n",
	       version, host, port, host, port, host, port, host, port, host, port, host, port, s->storage_path,
	       (long long)(s->retention_ms / 1000), fsync_name(s->fsync));
	fflush(stdout);

	tsdb_options to;
	tsdb_options_default(&to);
	to.dir = s->storage_path;
	to.retention_ms = s->retention_ms;
	to.ooo_window_ms = s->ooo_window_ms;
	to.fsync_policy = s->fsync;
	to.fsync_interval_ms = s->fsync_interval_ms;
	to.max_series = s->max_series;
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
	promql_engine_opts eo;
	promql_engine_opts_default(&eo);
	eo.timeout_ms = s->query_timeout_ms;
	eo.max_samples = s->query_max_samples;
	eo.lookback_delta_ms = s->query_lookback_ms;
	/* as in Prometheus, a subquery written without a step uses the evaluation interval */
	eo.default_eval_interval_ms = s->eval_interval_ms;
	eo.logger = log;
	engine = promql_engine_new(&eo);
	set = slo_set_new();
	if (!engine || !set) {
		slod_log(&log, SLOD_LOG_ERROR, "main", "out of memory creating the query engine");
		goto out;
	}
	if (load_slos(s, set, &log) != 0) {
		fprintf(stderr, "slod: the SLO specs have errors (see the log); not starting\n");
		goto out;
	}
	if (load_rule_files(s, &rulefile, err, sizeof err) != 0) {
		slod_log(&log, SLOD_LOG_ERROR, "main", "%s", err);
		fprintf(stderr, "slod: %s\n", err);
		goto out;
	}
	size_t n_user = 0;
	const rules_group_def *user = rulefile ? slo_rulefile_groups(rulefile, &n_user) : NULL;
	snprintf(external_url, sizeof external_url, "http://%s:%u", host, port);

	if (s->n_targets) {
		memset(targets, 0, sizeof targets);
		for (size_t i = 0; i < s->n_targets; i++) {
			targets[i].kind = s->targets[i].alertmanager ? ALERTING_ALERTMANAGER : ALERTING_WEBHOOK;
			targets[i].name = s->targets[i].name;
			targets[i].url = s->targets[i].url;
			targets[i].hmac_secret = s->targets[i].hmac_secret[0] ? s->targets[i].hmac_secret : NULL;
			targets[i].repeat_interval_ms = s->targets[i].repeat_interval_ms;
		}
		snprintf(state_dir, sizeof state_dir, "%s/alerting", s->storage_path);
		if (mkdir(state_dir, 0755) != 0 && errno != EEXIST) {
			slod_log(&log, SLOD_LOG_ERROR, "main", "cannot create %s: %s", state_dir, strerror(errno));
			goto out;
		}
		alerting_options alo;
		memset(&alo, 0, sizeof alo);
		alo.targets = targets;
		alo.n_targets = s->n_targets;
		alo.state_dir = state_dir;
		alo.external_url = external_url;
		alo.start_worker = true;
		alo.logger = log;
		if (alerting_new(&alo, &al, err, sizeof err) != 0) {
			slod_log(&log, SLOD_LOG_ERROR, "main", "alerting: %s", err);
			goto out;
		}
	}

	rules_options ro;
	memset(&ro, 0, sizeof ro);
	ro.db = db;
	ro.engine = engine;
	ro.default_interval_ms = s->eval_interval_ms;
	ro.external_url = external_url;
	ro.on_alerts = al ? on_alerts : NULL;
	ro.on_alerts_ud = al;
	ro.logger = log;
	if (rules_manager_new(&ro, &rm, err, sizeof err) != 0) {
		slod_log(&log, SLOD_LOG_ERROR, "main", "rules: %s", err);
		goto out;
	}
	slo_engine_options so;
	memset(&so, 0, sizeof so);
	so.set = set;
	so.user_groups = user;
	so.n_user_groups = n_user;
	so.rules = rm;
	so.db = db;
	so.engine = engine;
	so.logger = log;
	if (slo_engine_new(&so, &se, err, sizeof err) != 0) {
		slod_log(&log, SLOD_LOG_ERROR, "main", "SLO engine: %s", err);
		fprintf(stderr, "slod: %s\n", err);
		goto out;
	}
	if (rules_manager_start(rm) != 0 || slo_engine_start(se, s->eval_interval_ms) != 0) {
		slod_log(&log, SLOD_LOG_ERROR, "main", "cannot start the rule evaluation threads");
		goto out;
	}
	slod_log(&log, SLOD_LOG_INFO, "main", "%zu SLOs (%s), %zu rule groups, %zu notification targets",
		 slo_engine_n_slos(se), s->n_slo_files ? "from --slo.files" : "embedded examples",
		 slo_engine_n_groups(se) + n_user, s->n_targets);

	/* the reloader owns the replaceable parts from now on */
	rl->srv = srv;
	rl->db = db;
	rl->engine = engine;
	rl->rm = rm;
	rl->set = set;
	rl->rulefile = rulefile;
	rl->se = se;
	set = NULL;
	rulefile = NULL;
	se = NULL;
	api_backend be = {.db = db, .ingest_limits = NULL, .engine = engine, .rules = rm, .slo = rl->se, .alerting = al};
	if (api_server_set_backend(srv, &be) != 0) {
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
	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		slod_log(&log, SLOD_LOG_INFO, "main", "received SIGHUP, reloading");
		reload(rl, err, sizeof err);
	}
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
	slo_engine_free(se);
	if (rl) {
		slo_engine_free(rl->se);
		slo_rulefile_free(rl->rulefile);
		slo_set_free(rl->set);
		pthread_mutex_destroy(&rl->lock);
		free(rl);
	}
	rules_manager_free(rm);
	alerting_free(al);
	slo_rulefile_free(rulefile);
	slo_set_free(set);
	promql_engine_free(engine);
	tsdb_close(db);
	alerting_global_cleanup();
	if (rc == 0)
		slod_log(&log, SLOD_LOG_INFO, "main", "shutdown complete");
	return rc;
}
