/* Tests for tsdb/head.c: appenders, queriers, duplicates, out-of-order, concurrency, stats. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/tsdb/tsdb_testutil.h"

static tsdb *open_mem(int64_t ooo_window)
{
	tsdb_options o;
	tsdb_options_default(&o);
	o.ooo_window_ms = ooo_window;
	o.retention_ms = 0;
	tsdb *db = NULL;
	char err[256];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof(err)), 0);
	assert_non_null(db);
	return db;
}

static void test_roundtrip(void **state)
{
	(void)state;
	tsdb *db = open_mem(0);
	tsdb_appender *a = tsdb_appender_new(db);
	tu_labels l1, l2, l3;
	tsdb_ref r1 = 0, r2 = 0, r3 = 0;
	const int N = 1000; /* > 8 chunks per series */
	for (int i = 0; i < N; i++) {
		int64_t t = 1000 + (int64_t)i * 15000;
		assert_int_equal(tsdb_appender_add(a, tu_parse(&l1, "__name__=up,job=a"), t, i, &r1), 0);
		assert_int_equal(tsdb_appender_add(a, tu_parse(&l2, "__name__=up,job=b"), t, i * 0.5 + 0.125, &r2), 0);
		double v = (i % 7 == 3) ? tu_dbl(TSDB_STALE_NAN_BITS) : sin(i) * 1e6;
		assert_int_equal(tsdb_appender_add(a, tu_parse(&l3, "__name__=temp,room=x"), t, v, &r3), 0);
		if (i % 100 == 99)
			assert_int_equal(tsdb_appender_commit(a), 0);
	}
	assert_int_equal(tsdb_appender_commit(a), 0);
	assert_true(r1 > 0 && r2 > 0 && r3 > 0);
	assert_true(r1 != r2 && r2 != r3 && r1 != r3);

	/* add_hashed with util's labels_hash() finds the series add() created (same hash) */
	tsdb_ref viah = 0;
	assert_int_equal(tsdb_appender_add_hashed(a, tu_parse(&l2, "__name__=up,job=b"), labels_hash(&l2.ls),
						  1000 + (int64_t)N * 15000, 1, &viah), 0);
	assert_int_equal(viah, r2);
	tsdb_appender_rollback(a);
	/* add with the same labels gives the same ref */
	tsdb_ref again = 0;
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l1, "job=a,__name__=up"), 1000 + (int64_t)N * 15000, 1, &again), 0);
	assert_int_equal(again, r1);
	tsdb_appender_rollback(a);

	tsdb_sample *s = NULL;
	long n = tu_samples(db, r1, INT64_MIN, INT64_MAX, &s);
	assert_int_equal(n, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(s[i].t, 1000 + (int64_t)i * 15000);
		assert_true(s[i].v == (double)i);
	}
	free(s);
	n = tu_samples(db, r3, INT64_MIN, INT64_MAX, &s);
	assert_int_equal(n, N);
	for (int i = 0; i < N; i++) {
		uint64_t want = (i % 7 == 3) ? TSDB_STALE_NAN_BITS : tu_bits(sin(i) * 1e6);
		assert_int_equal(tu_bits(s[i].v), want);
	}
	free(s);
	/* sub-range, boundaries inclusive */
	n = tu_samples(db, r2, 1000 + 150 * 15000, 1000 + 300 * 15000, &s);
	assert_int_equal(n, 151);
	assert_int_equal(s[0].t, 1000 + 150 * 15000);
	assert_true(s[0].v == 150 * 0.5 + 0.125);
	free(s);

	char out[1024];
	tu_re re;
	tsdb_matcher m[1] = {tu_m(TSDB_MATCH_EQ, "__name__", "up", &re)};
	assert_int_equal(tu_select(db, INT64_MIN, INT64_MAX, m, 1, out, sizeof(out)), 2);
	assert_string_equal(out, "{__name__=\"up\", job=\"a\"};{__name__=\"up\", job=\"b\"}");
	/* time range excludes everything */
	assert_int_equal(tu_select(db, 0, 999, m, 1, out, sizeof(out)), 0);
	assert_int_equal(tu_select(db, 1000 + (int64_t)N * 15000, INT64_MAX, m, 1, out, sizeof(out)), 0);

	tsdb_stats st;
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 3);
	assert_int_equal(st.samples_appended, 3 * N);
	assert_int_equal(st.chunk_samples, 3 * N);
	assert_int_equal(st.min_time, 1000);
	assert_int_equal(st.max_time, 1000 + (int64_t)(N - 1) * 15000);
	assert_true(st.chunks >= (uint64_t)(3 * (N / 120)));
	assert_true(st.chunk_bytes > 0);
	assert_true(st.label_bytes >= strlen("__name__upjobab"));
	tsdb_appender_free(a);
	tsdb_close(db);
}

static void test_duplicates(void **state)
{
	(void)state;
	tsdb *db = open_mem(0);
	tsdb_appender *a = tsdb_appender_new(db);
	tu_labels l;
	tsdb_ref r;
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a=1"), 100, 1.5, &r), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	/* same t, same value: quiet drop */
	assert_int_equal(tsdb_appender_add(a, &l.ls, 100, 1.5, NULL), 1);
	/* same t, different value */
	assert_int_equal(tsdb_appender_add(a, &l.ls, 100, 2.5, NULL), TSDB_ERR_DUPLICATE);
	/* NaN vs NaN: compared by bits */
	assert_int_equal(tsdb_appender_add(a, &l.ls, 200, tu_dbl(TSDB_STALE_NAN_BITS), NULL), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	assert_int_equal(tsdb_appender_add_ref(a, r, 200, tu_dbl(TSDB_STALE_NAN_BITS)), 1);
	assert_int_equal(tsdb_appender_add_ref(a, r, 200, NAN), TSDB_ERR_DUPLICATE);
	/* duplicate within one uncommitted batch is dropped at commit */
	assert_int_equal(tsdb_appender_add_ref(a, r, 300, 3), 0);
	assert_int_equal(tsdb_appender_add_ref(a, r, 300, 3), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_sample *s;
	assert_int_equal(tu_samples(db, r, 0, 1000, &s), 3);
	assert_true(s[2].t == 300 && s[2].v == 3);
	free(s);
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	assert_int_equal(st.samples_appended, 3);
	assert_int_equal(st.samples_duplicate, 3);
	tsdb_appender_free(a);
	tsdb_close(db);
}

static void test_out_of_order(void **state)
{
	(void)state;
	/* no window: anything older than the newest is rejected */
	tsdb *db = open_mem(0);
	tsdb_appender *a = tsdb_appender_new(db);
	tu_labels l;
	tsdb_ref r;
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a=1"), 1000, 1, &r), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	assert_int_equal(tsdb_appender_add_ref(a, r, 999, 1), TSDB_ERR_OUT_OF_ORDER);
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	assert_int_equal(st.samples_out_of_order, 1);
	tsdb_appender_free(a);
	tsdb_close(db);

	/* window 10s */
	db = open_mem(10000);
	a = tsdb_appender_new(db);
	for (int i = 0; i < 300; i++)
		assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a=1"), 100000 + i * 100, i, &r), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	int64_t newest = 100000 + 299 * 100;
	/* inside the window, between existing samples (some fall in sealed chunks) */
	assert_int_equal(tsdb_appender_add_ref(a, r, newest - 50, -1), 0);
	assert_int_equal(tsdb_appender_add_ref(a, r, newest - 9950, -2), 0);
	assert_int_equal(tsdb_appender_add_ref(a, r, newest - 5050, -3), 0);
	/* exactly on an existing in-order sample: duplicate rules apply */
	assert_int_equal(tsdb_appender_add_ref(a, r, newest - 100, 298), 1);
	assert_int_equal(tsdb_appender_add_ref(a, r, newest - 100, 5), TSDB_ERR_DUPLICATE);
	/* outside the window */
	assert_int_equal(tsdb_appender_add_ref(a, r, newest - 10001, 7), TSDB_ERR_OUT_OF_ORDER);
	assert_int_equal(tsdb_appender_commit(a), 0);
	/* duplicate of an accepted out-of-order sample */
	assert_int_equal(tsdb_appender_add_ref(a, r, newest - 50, -1), 1);
	assert_int_equal(tsdb_appender_add_ref(a, r, newest - 50, 4), TSDB_ERR_DUPLICATE);
	tsdb_appender_rollback(a);

	tsdb_sample *s;
	long n = tu_samples(db, r, 0, INT64_MAX, &s);
	assert_int_equal(n, 303);
	for (long i = 1; i < n; i++)
		assert_true(s[i - 1].t < s[i].t);
	for (long i = 0; i < n; i++) {
		if (s[i].t == newest - 50)
			assert_true(s[i].v == -1);
		if (s[i].t == newest - 9950)
			assert_true(s[i].v == -2);
		if (s[i].t == newest - 5050)
			assert_true(s[i].v == -3);
	}
	free(s);
	/* a range containing only out-of-order samples still selects the series */
	char out[256];
	tu_re re;
	tsdb_matcher m = tu_m(TSDB_MATCH_EQ, "a", "1", &re);
	assert_int_equal(tu_select(db, newest - 9960, newest - 9940, &m, 1, out, sizeof(out)), 1);
	assert_int_equal(tu_samples(db, r, newest - 9960, newest - 9940, &s), 1);
	free(s);
	tsdb_appender_free(a);
	tsdb_close(db);
}

static void test_invalid_and_rollback(void **state)
{
	(void)state;
	tsdb *db = open_mem(0);
	tsdb_appender *a = tsdb_appender_new(db);
	tu_labels l;
	/* empty value, empty set, unsorted, duplicate names */
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a="), 1, 1, NULL), TSDB_ERR_INVALID);
	slod_labels empty = {NULL, 0};
	assert_int_equal(tsdb_appender_add(a, &empty, 1, 1, NULL), TSDB_ERR_INVALID);
	slod_label uv[2] = {{"b", "1"}, {"a", "1"}};
	slod_labels uns = {uv, 2};
	assert_int_equal(tsdb_appender_add(a, &uns, 1, 1, NULL), TSDB_ERR_INVALID);
	slod_label dv[2] = {{"a", "1"}, {"a", "2"}};
	slod_labels dup = {dv, 2};
	assert_int_equal(tsdb_appender_add(a, &dup, 1, 1, NULL), TSDB_ERR_INVALID);
	assert_int_equal(tsdb_appender_add_ref(a, 12345, 1, 1), TSDB_ERR_INVALID);
	/* rollback drops staged samples */
	tsdb_ref r;
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a=1"), 10, 1, &r), 0);
	tsdb_appender_rollback(a);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_sample *s;
	assert_int_equal(tu_samples(db, r, 0, 100, &s), 0);
	free(s);
	/* the appender stays usable after errors */
	assert_int_equal(tsdb_appender_add_ref(a, r, 20, 2), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	assert_int_equal(tu_samples(db, r, 0, 100, &s), 1);
	free(s);
	tsdb_appender_free(a);
	tsdb_close(db);

	/* series limit */
	tsdb_options o;
	tsdb_options_default(&o);
	o.max_series = 2;
	char err[128];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof(err)), 0);
	a = tsdb_appender_new(db);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a=1"), 10, 1, NULL), 0);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a=2"), 10, 1, NULL), 0);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a=3"), 10, 1, NULL), TSDB_ERR_LIMIT);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a=1"), 11, 1, NULL), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	tsdb_close(db);
}

static void test_too_old(void **state)
{
	(void)state;
	tsdb_options o;
	tsdb_options_default(&o);
	o.retention_ms = 1000000;
	tsdb *db;
	char err[128];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof(err)), 0);
	tsdb_appender *a = tsdb_appender_new(db);
	tu_labels l;
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a=1"), 5000000, 1, NULL), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	/* another series, older than the newest sample - retention */
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a=2"), 3000000, 1, NULL), TSDB_ERR_TOO_OLD);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a=2"), 4500000, 1, NULL), 0);
	tsdb_appender_rollback(a);
	/* a retention pass moves the horizon to now - retention */
	tsdb_apply_retention(db, 6000000);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a=2"), 4500000, 1, NULL), TSDB_ERR_TOO_OLD);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "a=2"), 5000001, 1, NULL), 0);
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	assert_int_equal(st.samples_too_old, 2);
	tsdb_appender_free(a);
	tsdb_close(db);
}

static void test_label_names_values(void **state)
{
	(void)state;
	tsdb *db = open_mem(0);
	tsdb_appender *a = tsdb_appender_new(db);
	tu_labels l;
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=up,job=api,instance=h1"), 100, 1, NULL), 0);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=up,job=db,instance=h2"), 100, 1, NULL), 0);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=cpu,mode=idle"), 100, 1, NULL), 0);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=old,zone=z"), 5, 1, NULL), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);

	tsdb_querier *q = tsdb_querier_open(db, 50, 200);
	const char **v;
	size_t n;
	assert_int_equal(tsdb_querier_label_names(q, NULL, 0, &v, &n), 0);
	assert_int_equal(n, 4); /* zone only has data at t=5 */
	assert_string_equal(v[0], "__name__");
	assert_string_equal(v[1], "instance");
	assert_string_equal(v[2], "job");
	assert_string_equal(v[3], "mode");
	assert_int_equal(tsdb_querier_label_values(q, "__name__", NULL, 0, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "cpu");
	assert_string_equal(v[1], "up");
	tu_re re;
	tsdb_matcher m = tu_m(TSDB_MATCH_EQ, "__name__", "up", &re);
	assert_int_equal(tsdb_querier_label_names(q, &m, 1, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[2], "job");
	assert_int_equal(tsdb_querier_label_values(q, "job", &m, 1, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "api");
	assert_string_equal(v[1], "db");
	assert_int_equal(tsdb_querier_label_values(q, "nope", NULL, 0, &v, &n), 0);
	assert_int_equal(n, 0);
	tsdb_querier_close(q);

	q = tsdb_querier_open(db, 0, 200);
	assert_int_equal(tsdb_querier_label_values(q, "zone", NULL, 0, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "z");
	tsdb_querier_close(q);
	tsdb_appender_free(a);
	tsdb_close(db);
}

/* ---- concurrency ---- */

typedef struct thr {
	tsdb *db;
	int id;
	int series;
	int rounds;
	int errors;
	_Atomic int *stop;
} thr;

static void *appender_thread(void *arg)
{
	thr *t = arg;
	tsdb_appender *a = tsdb_appender_new(t->db);
	tsdb_ref *refs = calloc((size_t)t->series, sizeof(*refs));
	for (int r = 0; r < t->rounds; r++) {
		for (int s = 0; s < t->series; s++) {
			int rc;
			if (refs[s]) {
				rc = tsdb_appender_add_ref(a, refs[s], 1000 + r * 10, r);
			} else {
				tu_labels l;
				char spec[128];
				/* half the series are shared between the two appender threads */
				snprintf(spec, sizeof(spec), "__name__=m,shared=%s,s=%d,w=%d", (s % 2) ? "y" : "n", s,
					 (s % 2) ? 0 : t->id);
				const slod_labels *ls = tu_parse(&l, spec);
				uint64_t h = labels_hash(ls);
				/* the lookup hint races with the other thread growing the map: must be harmless */
				tsdb_prefetch_hash(t->db, h);
				tsdb_prefetch_hash(t->db, h * 31 + 7);
				rc = tsdb_appender_add_hashed(a, ls, h, 1000 + r * 10, r, &refs[s]);
			}
			/* private series: always accepted; shared: the other thread may be ahead */
			if (!(s % 2) ? rc != 0 : (rc != 0 && rc != 1 && rc != TSDB_ERR_OUT_OF_ORDER))
				t->errors++;
		}
		if (tsdb_appender_commit(a) != 0)
			t->errors++;
	}
	free(refs);
	tsdb_appender_free(a);
	return NULL;
}

static void *querier_thread(void *arg)
{
	thr *t = arg;
	tu_re re;
	tsdb_matcher m[2] = {tu_m(TSDB_MATCH_EQ, "__name__", "m", NULL), tu_m(TSDB_MATCH_RE, "s", "1.*|2|3", &re)};
	tsdb_sample *sb = NULL;
	size_t cap = 0;
	while (!atomic_load(t->stop)) {
		tsdb_querier *q = tsdb_querier_open(t->db, 0, INT64_MAX);
		tsdb_series *ss;
		size_t n;
		if (tsdb_querier_select(q, m, 2, &ss, &n) != 0)
			t->errors++;
		for (size_t i = 0; i < n; i++) {
			long k = tsdb_querier_samples(q, ss[i].ref, 0, INT64_MAX, &sb, &cap);
			if (k < 0)
				t->errors++;
			for (long j = 1; j < k; j++)
				if (sb[j - 1].t >= sb[j].t || sb[j].v != (double)(sb[j].t - 1000) / 10)
					t->errors++;
			if (i + 1 < n && labels_cmp(ss[i].labels, ss[i + 1].labels) >= 0)
				t->errors++;
		}
		const char **names;
		if (tsdb_querier_label_names(q, NULL, 0, &names, &n) != 0)
			t->errors++;
		tsdb_stats st;
		tsdb_get_stats(t->db, &st);
		tsdb_querier_close(q);
	}
	free(sb);
	regfree(&re.re);
	return NULL;
}

static void test_concurrent(void **state)
{
	(void)state;
	tsdb *db = open_mem(0);
	_Atomic int stop = 0;
	thr ta[2], tq[2];
	pthread_t pa[2], pq[2];
	for (int i = 0; i < 2; i++) {
		ta[i] = (thr){db, i + 1, 200, 300, 0, &stop};
		tq[i] = (thr){db, i, 0, 0, 0, &stop};
		pthread_create(&pq[i], NULL, querier_thread, &tq[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&pa[i], NULL, appender_thread, &ta[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(pa[i], NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(pq[i], NULL);
	assert_int_equal(ta[0].errors + ta[1].errors, 0);
	assert_int_equal(tq[0].errors + tq[1].errors, 0);
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	/* 100 shared series + 2 x 100 private ones */
	assert_int_equal(st.series, 300);
	/* every add is accounted for exactly once */
	assert_int_equal(st.samples_appended + st.samples_duplicate + st.samples_out_of_order, 2 * 200 * 300);
	assert_true(st.samples_appended >= 300 * 300);
	/* private series hold all their samples; shared ones at least one thread's worth in order */
	tu_re re;
	tsdb_matcher m = tu_m(TSDB_MATCH_EQ, "__name__", "m", NULL);
	tsdb_querier *q = tsdb_querier_open(db, 0, INT64_MAX);
	tsdb_series *ss;
	size_t n;
	assert_int_equal(tsdb_querier_select(q, &m, 1, &ss, &n), 0);
	assert_int_equal(n, 300);
	tsdb_sample *sb = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < n; i++) {
		long k = tsdb_querier_samples(q, ss[i].ref, 0, INT64_MAX, &sb, &cap);
		if (strcmp(labels_get(ss[i].labels, "shared"), "n") == 0)
			assert_int_equal(k, 300);
		else
			assert_true(k >= 1 && k <= 300);
		for (long j = 1; j < k; j++)
			assert_true(sb[j - 1].t < sb[j].t);
	}
	(void)re;
	free(sb);
	tsdb_querier_close(q);
	tsdb_close(db);
}

/* Chunks are cut at ~120 samples, sealed chunks are accounted exactly, and a regular series costs
 * what the codec makes of it (constant value: ~2 bits per sample). */
static void test_chunk_layout(void **state)
{
	(void)state;
	tsdb *db = open_mem(0);
	tsdb_appender *a = tsdb_appender_new(db);
	tu_labels l;
	tsdb_ref r, rc;
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=up"), 0, 1, &r), 0);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=requests_total"), 0, 0, &rc), 0);
	double v = 0;
	for (int i = 1; i < 1200; i++) {
		v += 10; /* a steady-rate counter */
		assert_int_equal(tsdb_appender_add_ref(a, r, (int64_t)i * 15000, 1), 0);
		assert_int_equal(tsdb_appender_add_ref(a, rc, (int64_t)i * 15000, v), 0);
	}
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	assert_int_equal(st.chunks, 20);
	assert_int_equal(st.chunk_samples, 2400);
	tsdb_appender_free(a);
	tsdb_close(db);

	db = open_mem(0);
	a = tsdb_appender_new(db);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=up"), 0, 1, &r), 0);
	for (int i = 1; i < 1200; i++)
		assert_int_equal(tsdb_appender_add_ref(a, r, (int64_t)i * 15000, 1), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_get_stats(db, &st);
	double bps = (double)st.chunk_bytes / 1200.0;
	print_message("constant gauge: %.3f bytes/sample\n", bps);
	assert_true(bps < 0.5);
	tsdb_appender_free(a);
	tsdb_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_invalid_and_rollback),
		cmocka_unit_test(test_too_old),
		cmocka_unit_test(test_label_names_values),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_chunk_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
