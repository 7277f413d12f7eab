/* Tests for tsdb/snapshot.c (checkpoints, loading, fallbacks, automatic checkpoints, load speed)
 * and tsdb/retention.c (chunk and series removal, pins). */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/tsdb/tsdb_testutil.h"

static tsdb *open_opts(const char *dir, int64_t ooo, uint64_t ckpt_bytes, tu_logcap *lc)
{
	tsdb_options o;
	tsdb_options_default(&o);
	o.dir = dir;
	o.retention_ms = 0;
	o.ooo_window_ms = ooo;
	o.fsync_policy = TSDB_FSYNC_NEVER;
	o.checkpoint_wal_bytes = ckpt_bytes;
	if (lc) {
		o.logger.fn = tu_log_fn;
		o.logger.ud = lc;
	}
	tsdb *db = NULL;
	char err[256] = "";
	int rc = tsdb_open(&o, &db, err, sizeof(err));
	if (rc)
		print_message("open: %s\n", err);
	assert_int_equal(rc, 0);
	return db;
}

static int count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && !strstr(e->d_name, ".tmp"))
			n++;
	closedir(d);
	return n;
}

static double val(int k, int i)
{
	if (i % 13 == 12)
		return tu_dbl(TSDB_STALE_NAN_BITS);
	return k + i * 1.5;
}

static int add(tsdb_appender *a, int k, int i, tsdb_ref *ref)
{
	tu_labels l;
	char spec[64];
	snprintf(spec, sizeof(spec), "__name__=m,job=j%d,s=%d", k % 3, k);
	return tsdb_appender_add(a, tu_parse(&l, spec), 1000 + (int64_t)i * 10, val(k, i), ref);
}

static void check_series(tsdb *db, tsdb_ref ref, int k, int n)
{
	tsdb_sample *b;
	long got = tu_samples(db, ref, INT64_MIN, INT64_MAX, &b);
	assert_int_equal(got, n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(b[i].t, 1000 + (int64_t)i * 10);
		assert_int_equal(tu_bits(b[i].v), tu_bits(val(k, i)));
	}
	free(b);
}

static void test_checkpoint_roundtrip(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("snap");
	char wdir[512];
	snprintf(wdir, sizeof(wdir), "%s/wal", dir);
	enum { K = 50 };
	tsdb_ref refs[K];
	tsdb *db = open_opts(dir, 1000, 0, NULL);
	tsdb_appender *a = tsdb_appender_new(db);
	for (int i = 0; i < 250; i++) {
		for (int k = 0; k < K; k++)
			assert_int_equal(add(a, k, i, &refs[k]), 0);
		assert_int_equal(tsdb_appender_commit(a), 0);
	}
	/* a series without samples (created by add, then rolled back) */
	tu_labels l;
	tsdb_ref empty_ref;
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=empty"), 1, 1, &empty_ref), 0);
	tsdb_appender_rollback(a);
	/* an out-of-order sample (between i=240 and 241, inside the 1 s window) */
	assert_int_equal(tsdb_appender_add_ref(a, refs[0], 1000 + 240 * 10 + 5, 42), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	assert_int_equal(tsdb_appender_add_ref(a, refs[0], 1000 + 240 * 10 + 5, 42), 1);
	tsdb_appender_rollback(a);
	tsdb_stats before;
	tsdb_get_stats(db, &before);

	char err[256];
	assert_int_equal(tsdb_checkpoint(db, err, sizeof(err)), 0);
	assert_int_equal(count_files(dir, "snapshot."), 1);
	assert_int_equal(count_files(wdir, "0"), 1); /* only the fresh segment is left */
	/* more samples after the checkpoint go to the WAL */
	for (int i = 250; i < 300; i++) {
		for (int k = 0; k < K; k++)
			assert_int_equal(tsdb_appender_add_ref(a, refs[k], 1000 + (int64_t)i * 10, val(k, i)), 0);
		assert_int_equal(tsdb_appender_commit(a), 0);
	}
	tsdb_appender_free(a);
	tsdb_close(db);

	tu_logcap lc = {PTHREAD_MUTEX_INITIALIZER, ""};
	db = open_opts(dir, 1000, 0, &lc);
	assert_non_null(strstr(lc.text, "loaded"));
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, before.series);
	assert_int_equal(st.label_bytes, before.label_bytes);
	assert_int_equal(st.chunk_samples, before.chunk_samples + K * 50);
	for (int k = 1; k < K; k++)
		check_series(db, refs[k], k, 300);
	/* series 0 has the out-of-order sample merged in */
	tsdb_sample *b;
	assert_int_equal(tu_samples(db, refs[0], INT64_MIN, INT64_MAX, &b), 301);
	assert_int_equal(b[241].t, 1000 + 240 * 10 + 5);
	assert_true(b[241].v == 42);
	assert_int_equal(b[242].t, 1000 + 241 * 10);
	free(b);
	/* appending continues the restored open chunks and refs */
	a = tsdb_appender_new(db);
	for (int k = 0; k < K; k++) {
		tsdb_ref r;
		assert_int_equal(add(a, k, 300, &r), 0);
		assert_int_equal(r, refs[k]);
	}
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	for (int k = 1; k < K; k++)
		check_series(db, refs[k], k, 301);
	/* a second checkpoint replaces the first */
	assert_int_equal(tsdb_checkpoint(db, err, sizeof(err)), 0);
	assert_int_equal(count_files(dir, "snapshot."), 1);
	tsdb_close(db);
	db = open_opts(dir, 1000, 0, NULL);
	for (int k = 1; k < K; k++)
		check_series(db, refs[k], k, 301);
	tu_re re;
	tsdb_matcher m = tu_m(TSDB_MATCH_EQ, "job", "j1", &re);
	char out[8192];
	assert_int_equal(tu_select(db, INT64_MIN, INT64_MAX, &m, 1, out, sizeof(out)), (K + 1) / 3);
	tsdb_close(db);
	tu_rm_rf(dir);
	free(dir);
}

static void test_corrupt_snapshot(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("snap");
	tsdb *db = open_opts(dir, 0, 0, NULL);
	tsdb_appender *a = tsdb_appender_new(db);
	tsdb_ref r;
	for (int i = 0; i < 10; i++)
		assert_int_equal(add(a, 1, i, &r), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	char err[256];
	assert_int_equal(tsdb_checkpoint(db, err, sizeof(err)), 0);
	for (int i = 10; i < 20; i++)
		assert_int_equal(add(a, 1, i, &r), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	tsdb_close(db);
	/* flip a byte in the snapshot: open must not crash and must say why */
	char path[600];
	DIR *d = opendir(dir);
	struct dirent *e;
	path[0] = 0;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "snapshot.", 9) == 0)
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
	closedir(d);
	assert_true(path[0]);
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, 30, SEEK_SET);
	int c = fgetc(f);
	fseek(f, 30, SEEK_SET);
	fputc(c ^ 1, f);
	fclose(f);
	tu_logcap lc = {PTHREAD_MUTEX_INITIALIZER, ""};
	db = open_opts(dir, 0, 0, &lc);
	assert_non_null(strstr(lc.text, "checksum"));
	/* the WAL after the snapshot still replays: samples 10..19 of a series whose SERIES record
	 * was in the deleted segments are unknown, so nothing is visible, but the db works */
	a = tsdb_appender_new(db);
	assert_int_equal(add(a, 1, 100, &r), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	tsdb_close(db);
	/* a leftover .tmp from a crash mid-checkpoint is ignored */
	char tmp[700];
	snprintf(tmp, sizeof(tmp), "%s/snapshot.00000099.tmp", dir);
	f = fopen(tmp, "wb");
	fputs("partial", f);
	fclose(f);
	db = open_opts(dir, 0, 0, NULL);
	tsdb_close(db);
	tu_rm_rf(dir);
	free(dir);
}

static void test_auto_checkpoint(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("snap");
	tsdb *db = open_opts(dir, 0, 64 * 1024, NULL);
	tsdb_appender *a = tsdb_appender_new(db);
	enum { K = 100, N = 200 };
	tsdb_ref refs[K];
	for (int i = 0; i < N; i++) {
		for (int k = 0; k < K; k++)
			assert_int_equal(add(a, k, i, &refs[k]), 0);
		assert_int_equal(tsdb_appender_commit(a), 0);
	}
	/* the background thread checkpoints once the WAL passed 64 KiB */
	int n = 0;
	for (int w = 0; w < 500 && (n = count_files(dir, "snapshot.")) == 0; w++)
		usleep(10000);
	assert_true(n >= 1);
	tsdb_appender_free(a);
	tsdb_close(db);
	assert_int_equal(count_files(dir, "snapshot."), 1);
	db = open_opts(dir, 0, 0, NULL);
	for (int k = 0; k < K; k++)
		check_series(db, refs[k], k, N);
	tsdb_close(db);
	tu_rm_rf(dir);
	free(dir);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Restart cost at a reduced scale (20k series x 120 samples): snapshot load, and WAL replay of
 * the same data without a snapshot. Prints the rates; asserts generous bounds. */
static void test_restart_speed(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("snap");
	enum { K = 20000, N = 120 };
	tsdb *db = open_opts(dir, 0, UINT64_MAX, NULL);
	tsdb_appender *a = tsdb_appender_new(db);
	tsdb_ref *refs = calloc(K, sizeof(*refs));
	for (int i = 0; i < N; i++) {
		for (int k = 0; k < K; k++) {
			if (i == 0) {
				tu_labels l;
				char spec[128];
				snprintf(spec, sizeof(spec), "__name__=http_requests_total,instance=host-%d:9100,job=node,path=/api/v%d",
					 k, k % 17);
				assert_int_equal(tsdb_appender_add(a, tu_parse(&l, spec), (int64_t)i * 15000, k + i, &refs[k]), 0);
			} else {
				assert_int_equal(tsdb_appender_add_ref(a, refs[k], (int64_t)i * 15000, k + i * 3.0), 0);
			}
		}
		assert_int_equal(tsdb_appender_commit(a), 0);
	}
	tsdb_appender_free(a);
	tsdb_close(db);

	double t0 = now_s();
	db = open_opts(dir, 0, UINT64_MAX, NULL);
	double replay = now_s() - t0;
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, K);
	assert_int_equal(st.chunk_samples, (uint64_t)K * N);
	char err[256];
	t0 = now_s();
	assert_int_equal(tsdb_checkpoint(db, err, sizeof(err)), 0);
	double ckpt = now_s() - t0;
	tsdb_close(db);
	t0 = now_s();
	db = open_opts(dir, 0, UINT64_MAX, NULL);
	double load = now_s() - t0;
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, K);
	assert_int_equal(st.chunk_samples, (uint64_t)K * N);
	tsdb_sample *b;
	assert_int_equal(tu_samples(db, refs[K - 1], INT64_MIN, INT64_MAX, &b), N);
	assert_true(b[N - 1].v == K - 1 + (N - 1) * 3.0);
	free(b);
	tsdb_close(db);
	print_message("%d series x %d samples: WAL replay %.3f s (%.1f M samples/s), checkpoint %.3f s, "
		      "snapshot load %.3f s\n",
		      K, N, replay, K * N / replay / 1e6, ckpt, load);
#ifndef SLOD_ARENA_DEBUG /* not under sanitizers */
	assert_true(load < 2.0);
	assert_true(replay < 5.0);
#endif
	free(refs);
	tu_rm_rf(dir);
	free(dir);
}

/* ---- retention ---- */

static void test_retention(void **state)
{
	(void)state;
	tsdb_options o;
	tsdb_options_default(&o);
	o.retention_ms = 10000;
	tsdb *db;
	char err[128];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof(err)), 0);
	tsdb_appender *a = tsdb_appender_new(db);
	tu_labels l;
	tsdb_ref rold, rnew;
	/* "old": 240 samples t=0..2390 (two sealed chunks); "new": 600 samples t=0..59900 */
	for (int i = 0; i < 240; i++)
		assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=old"), i * 10, i, &rold), 0);
	for (int i = 0; i < 600; i++)
		assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=new,x=y"), i * 100, i, &rnew), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	assert_int_equal(st.chunks, 2 + 5);

	/* a querier opened before retention keeps the labels of a removed series valid */
	tsdb_querier *pinned = tsdb_querier_open(db, INT64_MIN, INT64_MAX);
	tsdb_matcher m = tu_m(TSDB_MATCH_EQ, "__name__", "old", NULL);
	tsdb_series *ss;
	size_t n;
	assert_int_equal(tsdb_querier_select(pinned, &m, 1, &ss, &n), 0);
	assert_int_equal(n, 1);

	/* now = 40000: horizon 30000; "old" loses both chunks, "new" its first two */
	long dropped = tsdb_apply_retention(db, 40000);
	assert_int_equal(dropped, 2 + 2);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.chunks, 3);
	assert_int_equal(st.chunk_samples, 600 - 240);
	assert_int_equal(st.min_time, 24000);
	assert_int_equal(st.max_time, 59900);
	tsdb_sample *b;
	assert_int_equal(tu_samples(db, rnew, INT64_MIN, INT64_MAX, &b), 360);
	assert_int_equal(b[0].t, 24000);
	free(b);
	/* samples below the horizon are now rejected */
	assert_int_equal(tsdb_appender_add_ref(a, rnew, 29999, 1), TSDB_ERR_TOO_OLD);
	/* the empty series survives one pass (an appender may be about to use it) ... */
	assert_int_equal(st.series, 2);
	tsdb_apply_retention(db, 40000);
	tsdb_get_stats(db, &st);
	/* ... and is removed on the second */
	assert_int_equal(st.series, 1);
	assert_string_equal(labels_get(ss[0].labels, "__name__"), "old");
	char out[256];
	assert_int_equal(tu_select(db, INT64_MIN, INT64_MAX, &m, 1, out, sizeof(out)), 0);
	tsdb_querier *q = tsdb_querier_open(db, INT64_MIN, INT64_MAX);
	const char **vals;
	assert_int_equal(tsdb_querier_label_values(q, "__name__", NULL, 0, &vals, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(vals[0], "new");
	tsdb_querier_close(q);
	assert_int_equal(tsdb_appender_add_ref(a, rold, 50000, 1), TSDB_ERR_INVALID);
	tsdb_querier_close(pinned);
	tsdb_apply_retention(db, 40000); /* frees what the querier pinned */

	/* the label set can come back as a new series with a new ref */
	tsdb_ref again;
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=old"), 50000, 7, &again), 0);
	assert_true(again != rold);
	assert_int_equal(tsdb_appender_commit(a), 0);
	assert_int_equal(tu_samples(db, again, INT64_MIN, INT64_MAX, &b), 1);
	free(b);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 2);
	tsdb_appender_free(a);
	tsdb_close(db);
}

/* An appender staging a sample for a series that retention removes before the commit still gets
 * its sample stored (under a re-resolved series). */
static void test_retention_race(void **state)
{
	(void)state;
	tsdb_options o;
	tsdb_options_default(&o);
	o.retention_ms = 1000;
	tsdb *db;
	char err[128];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof(err)), 0);
	tsdb_appender *a = tsdb_appender_new(db);
	tu_labels l;
	tsdb_ref r;
	/* created by add, never committed: empty */
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=fresh"), 5000, 1, &r), 0);
	tsdb_apply_retention(db, 5000);
	tsdb_apply_retention(db, 5000);
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 1);
	assert_int_equal(st.samples_appended, 1);
	tsdb_matcher m = tu_m(TSDB_MATCH_EQ, "__name__", "fresh", NULL);
	char out[128];
	assert_int_equal(tu_select(db, INT64_MIN, INT64_MAX, &m, 1, out, sizeof(out)), 1);
	tsdb_appender_free(a);
	tsdb_close(db);
}

/* Retention passes merge out-of-order samples back into chunks without changing what queries see. */
static void test_ooo_compaction(void **state)
{
	(void)state;
	tsdb_options o;
	tsdb_options_default(&o);
	o.retention_ms = 0;
	o.ooo_window_ms = 100000;
	tsdb *db;
	char err[128];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof(err)), 0);
	tsdb_appender *a = tsdb_appender_new(db);
	tu_labels l;
	tsdb_ref r;
	for (int i = 0; i < 400; i++)
		assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=x"), (int64_t)i * 100, i, &r), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	/* 60 out-of-order samples spread over the last three chunks */
	for (int i = 0; i < 60; i++)
		assert_int_equal(tsdb_appender_add_ref(a, r, 39850 - (int64_t)i * 500, -i), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_sample *before, *after;
	long nb = tu_samples(db, r, INT64_MIN, INT64_MAX, &before);
	assert_int_equal(nb, 460);
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	assert_int_equal(st.chunk_samples, 400);
	assert_int_equal(tsdb_apply_retention(db, 1000000), 0);
	tsdb_get_stats(db, &st);
	assert_int_equal(st.chunk_samples, 460);
	assert_int_equal(st.chunks, 4); /* 460 samples: 3 sealed + 1 open */
	long na = tu_samples(db, r, INT64_MIN, INT64_MAX, &after);
	assert_int_equal(na, nb);
	for (long i = 0; i < na; i++) {
		assert_int_equal(after[i].t, before[i].t);
		assert_int_equal(tu_bits(after[i].v), tu_bits(before[i].v));
	}
	free(before);
	free(after);
	/* duplicates and further appends behave as before */
	assert_int_equal(tsdb_appender_add_ref(a, r, 39850, 0), 1);
	assert_int_equal(tsdb_appender_add_ref(a, r, 39850, 5), TSDB_ERR_DUPLICATE);
	assert_int_equal(tsdb_appender_add_ref(a, r, 39900, 399), 1);
	assert_int_equal(tsdb_appender_add_ref(a, r, 40000, 400), 0);
	assert_int_equal(tsdb_appender_add_ref(a, r, 39975, 7), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	assert_int_equal(tu_samples(db, r, 39800, 40000, &after), 5);
	assert_int_equal(after[0].t, 39800);
	assert_int_equal(after[1].t, 39850);
	assert_true(after[1].v == 0);
	assert_int_equal(after[2].t, 39900);
	assert_int_equal(after[3].t, 39975);
	assert_int_equal(after[4].t, 40000);
	free(after);
	tsdb_appender_free(a);
	tsdb_close(db);
}

/* ---- concurrency: checkpoints and retention while appending and querying ---- */

typedef struct stress {
	tsdb *db;
	int id;
	int rounds;
	int errors;
	_Atomic int *stop;
} stress;

static void *stress_appender(void *p)
{
	stress *st = p;
	tsdb_appender *a = tsdb_appender_new(st->db);
	for (int i = 0; i < st->rounds; i++) {
		for (int k = 0; k < 50; k++) {
			tu_labels l;
			char spec[64];
			snprintf(spec, sizeof(spec), "__name__=stress,t=%d,k=%d", st->id, k);
			if (tsdb_appender_add(a, tu_parse(&l, spec), 1000000 + (int64_t)i * 10, i, NULL) != 0)
				st->errors++;
		}
		if (tsdb_appender_commit(a) != 0)
			st->errors++;
	}
	tsdb_appender_free(a);
	return NULL;
}

static void *stress_checkpointer(void *p)
{
	stress *st = p;
	char err[256];
	while (!atomic_load(st->stop)) {
		if (tsdb_checkpoint(st->db, err, sizeof(err)) != 0)
			st->errors++;
		usleep(2000);
	}
	return NULL;
}

static void *stress_querier(void *p)
{
	stress *st = p;
	tsdb_matcher m = tu_m(TSDB_MATCH_EQ, "__name__", "stress", NULL);
	tsdb_sample *b = NULL;
	size_t cap = 0;
	while (!atomic_load(st->stop)) {
		tsdb_querier *q = tsdb_querier_open(st->db, INT64_MIN, INT64_MAX);
		tsdb_series *ss;
		size_t n;
		if (tsdb_querier_select(q, &m, 1, &ss, &n) != 0)
			st->errors++;
		for (size_t i = 0; i < n; i++) {
			if (!labels_get(ss[i].labels, "k"))
				st->errors++;
			long k = tsdb_querier_samples(q, ss[i].ref, INT64_MIN, INT64_MAX, &b, &cap);
			for (long j = 1; j < k; j++)
				if (b[j - 1].t >= b[j].t)
					st->errors++;
		}
		tsdb_querier_close(q);
	}
	free(b);
	return NULL;
}

static void test_checkpoint_concurrent(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("snap");
	tsdb *db = open_opts(dir, 0, 0, NULL);
	_Atomic int stop = 0;
	stress ap[2] = {{db, 0, 300, 0, &stop}, {db, 1, 300, 0, &stop}}, ck = {db, 0, 0, 0, &stop}, qu = {db, 0, 0, 0, &stop};
	pthread_t ta[2], tc, tq;
	pthread_create(&tc, NULL, stress_checkpointer, &ck);
	pthread_create(&tq, NULL, stress_querier, &qu);
	for (int i = 0; i < 2; i++)
		pthread_create(&ta[i], NULL, stress_appender, &ap[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(ta[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(tc, NULL);
	pthread_join(tq, NULL);
	assert_int_equal(ap[0].errors + ap[1].errors + ck.errors + qu.errors, 0);
	tsdb_close(db);
	/* everything acknowledged is there after a restart from snapshot + WAL */
	db = open_opts(dir, 0, 0, NULL);
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 100);
	assert_int_equal(st.chunk_samples, 100 * 300);
	tsdb_close(db);
	tu_rm_rf(dir);
	free(dir);
}

static void *stress_retention(void *p)
{
	stress *st = p;
	while (!atomic_load(st->stop)) {
		/* keep only the last 100 ms of data: old chunks and then whole series go */
		tsdb_stats s;
		tsdb_get_stats(st->db, &s);
		if (s.max_time != INT64_MIN)
			tsdb_apply_retention(st->db, s.max_time);
		usleep(200);
	}
	return NULL;
}

/* Appenders keep creating short-lived series (a few samples each, some only staged and rolled
 * back) while retention drops them and queriers read: exercises removal, re-resolution of staged
 * series and epoch reclamation under ASan/TSan. */
static void *churn_appender(void *p)
{
	stress *st = p;
	tsdb_appender *a = tsdb_appender_new(st->db);
	for (int i = 0; i < st->rounds; i++) {
		tu_labels l;
		char spec[64];
		snprintf(spec, sizeof(spec), "__name__=stress,k=%d,t=%d", i / 8, st->id);
		int rc = tsdb_appender_add(a, tu_parse(&l, spec), 2000000 + i, i, NULL);
		if (rc < 0 && rc != TSDB_ERR_TOO_OLD && rc != TSDB_ERR_OUT_OF_ORDER)
			st->errors++;
		if (i % 5 == 0)
			tsdb_appender_rollback(a); /* may leave an empty series behind */
		else if (i % 2 && tsdb_appender_commit(a) != 0)
			st->errors++;
	}
	if (tsdb_appender_commit(a) != 0)
		st->errors++;
	tsdb_appender_free(a);
	return NULL;
}

static void test_retention_concurrent(void **state)
{
	(void)state;
	tsdb_options o;
	tsdb_options_default(&o);
	o.retention_ms = 100;
	tsdb *db;
	char err[128];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof(err)), 0);
	_Atomic int stop = 0;
	stress ap[2] = {{db, 0, 20000, 0, &stop}, {db, 1, 20000, 0, &stop}}, rt = {db, 0, 0, 0, &stop}, qu = {db, 0, 0, 0, &stop};
	pthread_t ta[2], tr, tq;
	pthread_create(&tr, NULL, stress_retention, &rt);
	pthread_create(&tq, NULL, stress_querier, &qu);
	for (int i = 0; i < 2; i++)
		pthread_create(&ta[i], NULL, churn_appender, &ap[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(ta[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(tr, NULL);
	pthread_join(tq, NULL);
	assert_int_equal(ap[0].errors + ap[1].errors + qu.errors, 0);
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	print_message("churn: %llu series left, %llu appended, %llu too old\n", (unsigned long long)st.series,
		      (unsigned long long)st.samples_appended, (unsigned long long)st.samples_too_old);
	/* two final passes leave only series with data in the last 100 ms */
	tsdb_apply_retention(db, st.max_time);
	tsdb_apply_retention(db, st.max_time);
	tsdb_get_stats(db, &st);
	assert_true(st.series <= 2 * (100 / 8 + 2));
	tsdb_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checkpoint_roundtrip),
		cmocka_unit_test(test_corrupt_snapshot),
		cmocka_unit_test(test_auto_checkpoint),
		cmocka_unit_test(test_restart_speed),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_retention_race),
		cmocka_unit_test(test_ooo_compaction),
		cmocka_unit_test(test_checkpoint_concurrent),
		cmocka_unit_test(test_retention_concurrent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
