/*
 * Tests for rules/sched.c, the rules scheduler: every group evaluated exactly once per interval at
 * its own slot t ≡ offset(group) (mod interval), in slot order, never before its slot, with
 * thousands of groups; groups due a few ms apart batched into one wake-up (each still at its own
 * timestamp); reloads mid-cycle (groups added, removed, interval or rules changed; a set with a
 * duplicate group refused); missed slots
 * after a clock jump; the real thread with a reload while it runs.
 *
 * Observation: every group has one alerting rule `vector(1)` (fires at once), so each evaluation
 * calls on_alerts with the group's key and the alert's last_sent_ms = the evaluation timestamp;
 * the callback logs (group, timestamp, clock time) in call order. The thread's loop is simulated on
 * a manual clock with r__sched_step (rules_int.h): step, then set the clock to the wake time.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>
#include <cmocka.h>

#include "rules/rules_int.h"

#define T0 1700000000000LL
#define SEC 1000
#define FILE_NAME "s.yml"

typedef struct ev {
	uint32_t g;   /* group id (name "g<id>") */
	int64_t ts;   /* evaluation timestamp */
	int64_t at;   /* clock time of the evaluation */
} ev;

typedef struct fx {
	tsdb *db;
	promql_engine *eng;
	int64_t now;
	bool real_clock;
	pthread_mutex_t mu; /* guards the log (the real thread writes it) */
	ev *evs;
	size_t n_evs, cap_evs;
	size_t empties;     /* on_alerts calls with an empty set (groups that lost their alerts) */
} fx;

/* A group set: names g<id>, one alerting rule A<id> each. */
typedef struct set {
	rules_group_def *gs;
	rules_rule_def *rs;
	char (*names)[16];
	char (*alerts)[16];
	size_t n;
} set;

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_alerts(void *ud, const char *key, const rules_alert *a, size_t n)
{
	fx *f = ud;
	pthread_mutex_lock(&f->mu);
	if (n == 0) {
		f->empties++;
	} else {
		const char *name = strchr(key, ';');
		assert_non_null(name);
		assert_true(name[1] == 'g');
		if (f->n_evs == f->cap_evs) {
			f->cap_evs = f->cap_evs ? 2 * f->cap_evs : 4096;
			f->evs = realloc(f->evs, f->cap_evs * sizeof(ev));
			assert_non_null(f->evs);
		}
		f->evs[f->n_evs++] = (ev){(uint32_t)strtoul(name + 2, NULL, 10), a[0].last_sent_ms,
					  f->real_clock ? wall_ms() : f->now};
	}
	pthread_mutex_unlock(&f->mu);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	tsdb_options o;
	tsdb_options_default(&o);
	o.retention_ms = 0;
	char err[256];
	assert_int_equal(tsdb_open(&o, &f->db, err, sizeof err), 0);
	f->eng = promql_engine_new(NULL);
	assert_non_null(f->eng);
	pthread_mutex_init(&f->mu, NULL);
	f->now = T0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	promql_engine_free(f->eng);
	tsdb_close(f->db);
	pthread_mutex_destroy(&f->mu);
	free(f->evs);
	free(f);
	return 0;
}

static rules_manager *make(fx *f)
{
	rules_options o = {.db = f->db, .engine = f->eng, .default_interval_ms = 30 * SEC, .on_alerts = on_alerts,
			   .on_alerts_ud = f, .clock = f->real_clock ? slod_clock_system() : slod_clock_manual(&f->now)};
	rules_manager *m = NULL;
	char err[256];
	assert_int_equal(rules_manager_new(&o, &m, err, sizeof err), 0);
	return m;
}

/* Groups g<ids[i]> with interval ivs[i] (or iv for all when ivs is NULL) and rule `expr`. */
static void set_make(set *s, const uint32_t *ids, size_t n, const int64_t *ivs, int64_t iv, const char *expr)
{
	s->n = n;
	s->gs = calloc(n, sizeof(*s->gs));
	s->rs = calloc(n, sizeof(*s->rs));
	s->names = calloc(n, sizeof(*s->names));
	s->alerts = calloc(n, sizeof(*s->alerts));
	assert_true(s->gs && s->rs && s->names && s->alerts);
	for (size_t i = 0; i < n; i++) {
		snprintf(s->names[i], sizeof s->names[i], "g%u", ids[i]);
		snprintf(s->alerts[i], sizeof s->alerts[i], "A%u", ids[i]);
		s->rs[i] = (rules_rule_def){.kind = RULES_ALERT, .name = s->alerts[i], .expr = expr};
		s->gs[i] = (rules_group_def){.name = s->names[i], .file = FILE_NAME, .interval_ms = ivs ? ivs[i] : iv,
					     .rules = &s->rs[i], .n_rules = 1};
	}
}

static void set_free(set *s)
{
	free(s->gs);
	free(s->rs);
	free(s->names);
	free(s->alerts);
}

static void load(rules_manager *m, const set *s)
{
	char err[256];
	assert_int_equal(rules_manager_update(m, s->gs, s->n, err, sizeof err), 0);
}

/* The slot offset of group g<id>, computed here from the documented rule (XXH3 of name ^ XXH3 of
 * file, mod interval): evaluation timestamps must not move between versions. */
static int64_t offset_of(uint32_t id, int64_t iv)
{
	char name[16];
	snprintf(name, sizeof name, "g%u", id);
	uint64_t h = XXH3_64bits(name, strlen(name)) ^ XXH3_64bits(FILE_NAME, strlen(FILE_NAME));
	return (int64_t)(h % (uint64_t)iv);
}

static int64_t mod(int64_t a, int64_t b)
{
	int64_t r = a % b;
	return r < 0 ? r + b : r;
}

/* The latest slot <= t of group g<id>. */
static int64_t latest_slot(uint32_t id, int64_t iv, int64_t t)
{
	return t - mod(t - offset_of(id, iv), iv);
}

/* Runs the thread's loop on the manual clock from now: step, jump to the wake time, until the wake
 * time passes end; then one last step at end, so every slot <= end is evaluated. Asserts that the
 * thread never wakes without something to evaluate (but the first step, at the current time, may
 * find nothing) and that wake times move forward. Returns the number of steps that evaluated
 * something (the thread's wake-ups). */
static size_t run_until(fx *f, rules_manager *m, int64_t end)
{
	size_t useful = 0;
	for (bool first = true;; first = false) {
		int64_t wake;
		int n = r__sched_step(m, &wake);
		assert_true(first || n > 0);
		useful += n > 0;
		assert_true(wake > f->now);
		if (wake > end)
			break;
		f->now = wake;
	}
	f->now = end;
	int64_t ignored;
	useful += r__sched_step(m, &ignored) > 0;
	return useful;
}

/* Checks log entries [from, to): never early; at most lateness ms late; each group on its own slots
 * of interval iv_of(id); global order by (timestamp, group id). */
static void check_events(fx *f, size_t from, size_t to, int64_t lateness, int64_t (*iv_of)(uint32_t))
{
	for (size_t i = from; i < to; i++) {
		const ev *e = &f->evs[i];
		assert_true(e->ts <= e->at);
		assert_true(e->at - e->ts <= lateness);
		int64_t iv = iv_of(e->g);
		assert_int_equal(mod(e->ts, iv), offset_of(e->g, iv));
		if (i > from) {
			const ev *p = &f->evs[i - 1];
			assert_true(p->ts < e->ts || (p->ts == e->ts && p->g < e->g));
		}
	}
}

static int64_t iv30(uint32_t id)
{
	(void)id;
	return 30 * SEC;
}

/* 3,000 groups staggered over 30 s: evaluated once per interval each, at their slots, in order;
 * batching (10 ms) cuts the wake-ups, never evaluates early or more than 10 ms late; without
 * batching every wake-up is exactly at the slots it evaluates. */
static void test_thousands_of_groups(void **state)
{
	fx *f = *state;
	const uint32_t n = 3000;
	const int64_t iv = 30 * SEC;
	uint32_t *ids = malloc(n * sizeof(*ids));
	for (uint32_t i = 0; i < n; i++)
		ids[i] = i;
	set s;
	set_make(&s, ids, n, NULL, iv, "vector(1)");
	for (int batching = 1; batching >= 0; batching--) {
		rules_manager *m = make(f);
		if (!batching)
			m->batch_ms = 0;
		f->now = T0 + 12345;
		f->n_evs = 0;
		load(m, &s);
		/* first step: every group at once, at its latest slot <= now */
		int64_t wake;
		assert_int_equal(r__sched_step(m, &wake), (int)n);
		assert_int_equal(f->n_evs, n);
		check_events(f, 0, n, iv - 1, iv30);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(f->evs[i].ts, latest_slot(f->evs[i].g, iv, f->now));
		r__sched_stats st0 = m->sched_stats;
		int64_t start = f->now;
		const int cycles = 3;
		size_t wakeups_total = run_until(f, m, start + cycles * iv);
		r__sched_stats st1 = m->sched_stats;
		check_events(f, n, f->n_evs, batching ? R__SCHED_BATCH_MS : 0, iv30);
		/* each group exactly once per interval: `cycles` more evaluations, iv apart */
		assert_int_equal(f->n_evs, n * (cycles + 1));
		int64_t *last = calloc(n, sizeof(*last));
		unsigned *count = calloc(n, sizeof(*count));
		for (size_t i = 0; i < f->n_evs; i++) {
			const ev *e = &f->evs[i];
			assert_true(e->g < n);
			if (count[e->g])
				assert_int_equal(e->ts - last[e->g], iv);
			last[e->g] = e->ts;
			count[e->g]++;
		}
		for (uint32_t g = 0; g < n; g++)
			assert_int_equal(count[g], cycles + 1);
		free(last);
		free(count);
		double wakeups = (double)wakeups_total / cycles, checks = (double)(st1.checks - st0.checks) / cycles;
		double cmps = (double)(st1.heap_cmps - st0.heap_cmps) / cycles;
		print_message("      %u groups, batching %d ms: %.0f wake-ups, %.0f group checks, %.0f heap comparisons "
			      "per cycle (a full scan per wake-up: %.0f checks)\n",
			      n, (int)m->batch_ms, wakeups, checks, cmps, wakeups * n);
		/* O(log n) per due group: a few checks and ~2 log2(n) comparisons per evaluation */
		assert_true(checks <= 8.0 * n);
		assert_true(cmps <= 30.0 * n);
		if (batching)
			assert_true(wakeups < 0.7 * n); /* uniform offsets: ~ iv / (10 ms + iv/n) = 1,500 */
		else
			assert_true(wakeups > 0.9 * n);
		rules_snapshot snap;
		assert_int_equal(rules_manager_snapshot(m, &snap), 0);
		for (size_t i = 0; i < snap.n_groups; i++) {
			assert_int_equal(snap.groups[i].evaluations, cycles + 1);
			assert_int_equal(snap.groups[i].missed_evaluations, 0);
		}
		rules_snapshot_free(&snap);
		rules_manager_free(m);
	}
	set_free(&s);
	free(ids);
}

static int64_t iv_reload(uint32_t id)
{
	return id >= 300 && id < 350 ? 10 * SEC : 30 * SEC;
}

/* A reload half-way through a cycle: removed groups stop, kept groups keep their slots (no double
 * and no skipped evaluation), groups whose interval changed move to the new interval's slots at
 * once, new groups are evaluated at once and then on their slots. */
static void test_reload_mid_cycle(void **state)
{
	fx *f = *state;
	const int64_t iv = 30 * SEC;
	uint32_t ids[500];
	for (uint32_t i = 0; i < 500; i++)
		ids[i] = i;
	rules_manager *m = make(f);
	set a;
	set_make(&a, ids, 400, NULL, iv, "vector(1)"); /* g0..g399 */
	f->now = T0 + 777;
	load(m, &a);
	run_until(f, m, f->now + iv + iv / 2);
	size_t before = f->n_evs;
	check_events(f, 0, before, iv - 1, iv30);
	/* g0..g99 removed; g100..g299 unchanged; g300..g349 every 10 s; g350..g399 another expression;
	 * g400..g499 new */
	int64_t ivs[400];
	for (size_t i = 0; i < 400; i++)
		ivs[i] = iv_reload(ids[100 + i]);
	set b;
	set_make(&b, ids + 100, 400, ivs, 0, "vector(1)");
	for (size_t i = 250; i < 300; i++)
		b.rs[i].expr = "vector(2)";
	int64_t reload = f->now;
	load(m, &b);
	assert_int_equal(f->empties, 100);
	/* the thread wakes at once (update signals it) */
	run_until(f, m, reload + 2 * iv);
	check_events(f, before, f->n_evs, iv - 1, iv_reload);
	int64_t last[500] = {0};
	unsigned after[500] = {0}, prior[500] = {0};
	for (size_t i = 0; i < before; i++) {
		last[f->evs[i].g] = f->evs[i].ts;
		prior[f->evs[i].g]++;
	}
	for (size_t i = before; i < f->n_evs; i++) {
		const ev *e = &f->evs[i];
		assert_true(e->g >= 100 && e->g < 500);
		int64_t giv = iv_reload(e->g);
		if (e->g >= 300 && e->g < 350 && !after[e->g]) {
			/* interval changed: rescheduled at the reload, at the latest new slot */
			assert_int_equal(e->at, reload);
			assert_int_equal(e->ts, latest_slot(e->g, giv, reload));
		} else if (e->g >= 400 && !after[e->g]) {
			assert_int_equal(e->at, reload);
			assert_int_equal(e->ts, latest_slot(e->g, giv, reload));
		} else {
			assert_int_equal(e->ts - last[e->g], giv);
			if (after[e->g] == 0) /* kept: no evaluation at the reload itself */
				assert_true(e->at > reload);
		}
		last[e->g] = e->ts;
		after[e->g]++;
	}
	for (uint32_t g = 100; g < 500; g++) {
		if (g >= 300 && g < 350)
			assert_int_equal(after[g], 1 + 2 * 3); /* at the reload, then 6 × 10 s */
		else if (g >= 400)
			assert_int_equal(after[g], 1 + 2);
		else
			assert_int_equal(after[g], 2);
	}
	/* a set naming a group twice is refused whole; the schedule goes on untouched */
	size_t n_before_dup = f->n_evs;
	set d;
	uint32_t dup_ids[3] = {7, 450, 7};
	set_make(&d, dup_ids, 3, NULL, iv, "vector(1)");
	char err[256];
	assert_int_equal(rules_manager_update(m, d.gs, d.n, err, sizeof err), -1);
	assert_string_equal(err, FILE_NAME ": group \"g7\" is defined more than once");
	set_free(&d);
	int64_t wake;
	assert_int_equal(r__sched_step(m, &wake), 0);
	assert_int_equal(f->n_evs, n_before_dup);
	rules_snapshot snap;
	assert_int_equal(rules_manager_snapshot(m, &snap), 0);
	assert_int_equal(snap.n_groups, 400);
	for (size_t i = 0; i < snap.n_groups; i++) {
		uint32_t g = (uint32_t)strtoul(snap.groups[i].name + 1, NULL, 10);
		assert_int_equal(snap.groups[i].missed_evaluations, 0);
		assert_int_equal(snap.groups[i].evaluations, after[g] + prior[g]); /* counters carried over */
	}
	rules_snapshot_free(&snap);
	rules_manager_free(m);
	set_free(&a);
	set_free(&b);
}

static int64_t iv10(uint32_t id)
{
	(void)id;
	return 10 * SEC;
}

/* The clock jumps 95 s: each group evaluated once, at its latest slot, in slot order; the slots in
 * between counted as missed; then the schedule goes on from there. */
static void test_missed_after_clock_jump(void **state)
{
	fx *f = *state;
	const int64_t iv = 10 * SEC;
	const uint32_t n = 50;
	uint32_t ids[50];
	for (uint32_t i = 0; i < n; i++)
		ids[i] = i;
	set s;
	set_make(&s, ids, n, NULL, iv, "vector(1)");
	rules_manager *m = make(f);
	f->now = T0 + 4321;
	load(m, &s);
	run_until(f, m, f->now + iv);
	int64_t next[50];
	for (size_t i = 0; i < f->n_evs; i++)
		next[f->evs[i].g] = f->evs[i].ts + iv;
	size_t before = f->n_evs;
	f->now += 95 * SEC + 3;
	assert_int_equal(rules_manager_tick(m), (int)n);
	assert_int_equal(f->n_evs, before + n);
	check_events(f, before, f->n_evs, iv - 1, iv10);
	rules_snapshot snap;
	assert_int_equal(rules_manager_snapshot(m, &snap), 0);
	for (size_t i = before; i < f->n_evs; i++) {
		const ev *e = &f->evs[i];
		assert_int_equal(e->ts, latest_slot(e->g, iv, f->now));
		const rules_group_snap *gs = &snap.groups[e->g];
		assert_string_equal(gs->name, s.names[e->g]);
		assert_int_equal(gs->missed_evaluations, (uint64_t)((e->ts - next[e->g]) / iv));
		assert_true(gs->missed_evaluations >= 8 && gs->missed_evaluations <= 9);
		next[e->g] = e->ts + iv;
	}
	rules_snapshot_free(&snap);
	assert_int_equal(rules_manager_tick(m), 0); /* nothing due again at the same time */
	size_t mid = f->n_evs;
	run_until(f, m, f->now + 2 * iv);
	check_events(f, mid, f->n_evs, R__SCHED_BATCH_MS, iv10);
	for (size_t i = mid; i < f->n_evs; i++) {
		assert_int_equal(f->evs[i].ts, next[f->evs[i].g]);
		next[f->evs[i].g] += iv;
	}
	assert_int_equal(f->n_evs, mid + 2 * n);
	rules_manager_free(m);
	set_free(&s);
}

/* Three groups: A and B with slots 1..5 ms apart, C 100..200 ms after B. The thread wakes once for
 * A and B (at B's slot), exactly at C's slot for C; a step before a slot evaluates nothing. */
static void test_batching_never_early(void **state)
{
	fx *f = *state;
	const int64_t iv = 30 * SEC;
	uint32_t a, b = UINT32_MAX, c = UINT32_MAX;
	for (a = 0;; a++) {
		int64_t oa = offset_of(a, iv);
		if (oa > iv - 2000)
			continue;
		b = c = UINT32_MAX;
		for (uint32_t id = a + 1; id < a + 200000 && (b == UINT32_MAX || c == UINT32_MAX); id++) {
			int64_t d = offset_of(id, iv) - oa;
			if (d >= 1 && d <= 5 && b == UINT32_MAX)
				b = id;
			else if (d >= 110 && d <= 200 && c == UINT32_MAX)
				c = id;
		}
		if (b != UINT32_MAX && c != UINT32_MAX)
			break;
	}
	int64_t oa = offset_of(a, iv), ob = offset_of(b, iv), oc = offset_of(c, iv);
	uint32_t ids[3] = {a, b, c};
	set s;
	set_make(&s, ids, 3, NULL, iv, "vector(1)");
	rules_manager *m = make(f);
	f->now = T0 - mod(T0, iv) + oc + 1000; /* after all three slots of this cycle */
	load(m, &s);
	int64_t wake;
	assert_int_equal(r__sched_step(m, &wake), 3);
	int64_t base = f->now - mod(f->now, iv) + iv;
	int64_t sa = base + oa, sb = base + ob, sc = base + oc;
	assert_int_equal(wake, sb); /* batched: A's slot moved to B's */
	f->now = sa - 1;
	assert_int_equal(r__sched_step(m, &wake), 0); /* not early */
	assert_int_equal(wake, sb);
	f->now = sa;
	assert_int_equal(r__sched_step(m, &wake), 1);
	assert_int_equal(f->evs[3].ts, sa);
	assert_int_equal(wake, sb);
	f->now = sb;
	assert_int_equal(r__sched_step(m, &wake), 1);
	assert_int_equal(wake, sc); /* C alone: no delay */
	f->now = sc;
	assert_int_equal(r__sched_step(m, &wake), 1);
	assert_int_equal(wake, sb + iv);
	f->now = wake;
	assert_int_equal(r__sched_step(m, &wake), 2); /* one wake-up, A and B at their own slots */
	assert_int_equal(f->n_evs, 8);
	assert_int_equal(f->evs[6].g, a);
	assert_int_equal(f->evs[6].ts, sa + iv);
	assert_int_equal(f->evs[7].g, b);
	assert_int_equal(f->evs[7].ts, sb + iv);
	assert_int_equal(wake, sc + iv);
	/* batching off: the thread wakes at A's slot */
	pthread_mutex_lock(&m->mu);
	m->batch_ms = 0;
	pthread_mutex_unlock(&m->mu);
	f->now = wake;
	assert_int_equal(r__sched_step(m, &wake), 1);
	assert_int_equal(wake, sa + 2 * iv);
	rules_manager_free(m);
	set_free(&s);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The real thread on the system clock, 300 ms interval, with a reload while it runs: slots kept,
 * never early, removed groups stop, new groups run. */
static void test_thread_with_reload(void **state)
{
	fx *f = *state;
	f->real_clock = true;
	uint32_t ids[60];
	for (uint32_t i = 0; i < 60; i++)
		ids[i] = i;
	set a, b;
	set_make(&a, ids, 40, NULL, 300, "vector(1)");      /* g0..g39 */
	set_make(&b, ids + 20, 40, NULL, 300, "vector(1)"); /* g20..g59 */
	rules_manager *m = make(f);
	load(m, &a);
	assert_int_equal(rules_manager_start(m), 0);
	sleep_ms(1000);
	load(m, &b);
	int64_t reloaded = wall_ms();
	sleep_ms(1000);
	rules_manager_free(m); /* joins the thread */
	int64_t last[60] = {0};
	unsigned count[60] = {0};
	for (size_t i = 0; i < f->n_evs; i++) {
		const ev *e = &f->evs[i];
		assert_true(e->g < 60);
		assert_true(e->ts <= e->at);
		assert_int_equal(mod(e->ts, 300), offset_of(e->g, 300));
		if (e->g < 20)
			assert_true(e->at <= reloaded);
		if (count[e->g]) {
			assert_true(e->ts > last[e->g]);
			assert_int_equal((e->ts - last[e->g]) % 300, 0);
		}
		last[e->g] = e->ts;
		count[e->g]++;
	}
	for (uint32_t g = 0; g < 60; g++)
		assert_true(count[g] >= 2);
	assert_int_equal(f->empties, 20);
	set_free(&a);
	set_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_thousands_of_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_mid_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missed_after_clock_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batching_never_early, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_with_reload, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
