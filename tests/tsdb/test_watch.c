/* Tests for the write watches of tsdb/head.c (tsdb_watch_new/take/free): what a take reports
 * (accepted samples only, in order, out of order, new series), independence of watches, the slot
 * limit, the WAL commit path, and the visibility guarantee under a concurrent writer. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/tsdb/tsdb_testutil.h"

static tsdb *open_db(const char *dir, int64_t ooo)
{
	tsdb_options o;
	tsdb_options_default(&o);
	o.dir = dir;
	o.ooo_window_ms = ooo;
	o.retention_ms = 0;
	o.fsync_policy = TSDB_FSYNC_NEVER;
	tsdb *db = NULL;
	char err[256];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof err), 0);
	return db;
}

static int add1(tsdb *db, const char *ls, int64_t t, double v)
{
	tu_labels l;
	tsdb_appender *a = tsdb_appender_new(db);
	int rc = tsdb_appender_add(a, tu_parse(&l, ls), t, v, NULL);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	return rc;
}

static void check_reports(tsdb *db)
{
	/* samples committed before the watch exists are not reported */
	add1(db, "__name__=x", 100000, 1);
	tsdb_watch *w = tsdb_watch_new(db), *w2 = tsdb_watch_new(db);
	assert_non_null(w);
	assert_non_null(w2);
	assert_int_equal(tsdb_watch_take(w), INT64_MAX);
	/* one batch: the minimum over the batch */
	tu_labels l;
	tsdb_appender *a = tsdb_appender_new(db);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=x"), 130000, 3, NULL), 0);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=y"), 110000, 3, NULL), 0);
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=x"), 160000, 4, NULL), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	assert_int_equal(tsdb_watch_take(w), 110000);
	assert_int_equal(tsdb_watch_take(w), INT64_MAX); /* a new interval */
	/* a rolled back batch is not reported */
	assert_int_equal(tsdb_appender_add(a, tu_parse(&l, "__name__=x"), 170000, 3, NULL), 0);
	tsdb_appender_rollback(a);
	tsdb_appender_free(a);
	assert_int_equal(tsdb_watch_take(w), INT64_MAX);
	/* out of order inside the window: reported; older than the window: rejected, not reported */
	assert_int_equal(add1(db, "__name__=x", 150000, 9), 0);
	assert_int_equal(add1(db, "__name__=x", 1000, 9), TSDB_ERR_OUT_OF_ORDER);
	assert_int_equal(tsdb_watch_take(w), 150000);
	/* duplicates (same t, same value) are not new data */
	assert_int_equal(add1(db, "__name__=x", 160000, 4), 1);
	assert_int_equal(tsdb_watch_take(w), INT64_MAX);
	/* a new series with samples far in the past (an import) */
	add1(db, "__name__=imported", 5000, 1);
	add1(db, "__name__=imported", 6000, 2);
	assert_int_equal(tsdb_watch_take(w), 5000);
	/* the second watch saw everything since its creation, independently */
	assert_int_equal(tsdb_watch_take(w2), 5000);
	assert_int_equal(tsdb_watch_take(w2), INT64_MAX);
	tsdb_watch_free(w);
	tsdb_watch_free(w2);
	tsdb_watch_free(NULL);
}

static void test_memory(void **state)
{
	(void)state;
	tsdb *db = open_db(NULL, 60000);
	check_reports(db);
	tsdb_close(db);
}

static void test_wal(void **state)
{
	(void)state;
	char dir[] = "/tmp/tsdb_watch_XXXXXX";
	assert_non_null(mkdtemp(dir));
	tsdb *db = open_db(dir, 60000);
	check_reports(db);
	tsdb_close(db);
	/* replay at open reports nothing (no watch can exist yet); a fresh watch starts empty */
	db = open_db(dir, 60000);
	tsdb_watch *w = tsdb_watch_new(db);
	assert_int_equal(tsdb_watch_take(w), INT64_MAX);
	tsdb_watch_free(w);
	tsdb_close(db);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_limit(void **state)
{
	(void)state;
	tsdb *db = open_db(NULL, 0);
	tsdb_watch *w[TSDB_MAX_WATCHES];
	for (int i = 0; i < TSDB_MAX_WATCHES; i++)
		assert_non_null(w[i] = tsdb_watch_new(db));
	assert_null(tsdb_watch_new(db));
	add1(db, "__name__=x", 7000, 1);
	for (int i = 0; i < TSDB_MAX_WATCHES; i++)
		assert_int_equal(tsdb_watch_take(w[i]), 7000);
	/* a freed slot is reused, and starts empty */
	tsdb_watch_free(w[3]);
	w[3] = tsdb_watch_new(db);
	assert_non_null(w[3]);
	assert_int_equal(tsdb_watch_take(w[3]), INT64_MAX);
	for (int i = 0; i < TSDB_MAX_WATCHES; i++)
		tsdb_watch_free(w[i]);
	tsdb_close(db);
}

/* A writer commits one sample per batch into new series at ever older timestamps; the reader
 * takes and then, with a new querier, must see a sample at the reported time (visibility), and
 * the minimum over all takes is the oldest sample written. */
#define W_N 4000
typedef struct wr {
	tsdb *db;
} wr;

static void *writer(void *ud)
{
	wr *x = ud;
	for (int i = 0; i < W_N; i++) {
		char ls[64];
		snprintf(ls, sizeof ls, "__name__=s,i=%d", i);
		add1(x->db, ls, 10000000 - (int64_t)i * 1000, i);
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	(void)state;
	tsdb *db = open_db(NULL, 0);
	tsdb_watch *w = tsdb_watch_new(db);
	wr x = {db};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, writer, &x), 0);
	int64_t lowest = INT64_MAX;
	int takes = 0;
	tsdb_sample *sb = NULL;
	size_t cap = 0;
	for (int done = 0; done < 2;) {
		int64_t m = tsdb_watch_take(w);
		if (m != INT64_MAX) {
			takes++;
			lowest = m < lowest ? m : lowest;
			tsdb_querier *q = tsdb_querier_open(db, m, m);
			tsdb_matcher mt = {.type = TSDB_MATCH_EQ, .name = "__name__", .value = "s"};
			tsdb_series *ss;
			size_t n;
			assert_int_equal(tsdb_querier_select(q, &mt, 1, &ss, &n), 0);
			bool seen = false;
			for (size_t i = 0; i < n; i++)
				seen |= tsdb_querier_samples(q, ss[i].ref, m, m, &sb, &cap) == 1;
			assert_true(seen);
			tsdb_querier_close(q);
		}
		if (lowest == 10000000 - (int64_t)(W_N - 1) * 1000)
			done++; /* one more take after the oldest sample was seen */
		else
			usleep(50);
	}
	pthread_join(th, NULL);
	assert_int_equal(tsdb_watch_take(w), INT64_MAX);
	assert_true(takes > 1);
	free(sb);
	tsdb_watch_free(w);
	tsdb_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_wal),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
