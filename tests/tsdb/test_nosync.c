/* Tests for tsdb_appender_set_no_sync: such commits skip the fsync wait but still reach the WAL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tsdb/tsdb.h"

static tsdb *open_at(const char *dir)
{
	tsdb_options o;
	tsdb_options_default(&o);
	o.dir = dir;
	o.retention_ms = 0;
	o.fsync_policy = TSDB_FSYNC_ALWAYS;
	tsdb *db = NULL;
	char err[256];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof err), 0);
	return db;
}

static void add(tsdb *db, const char *name, bool no_sync)
{
	slod_label l[] = {{"__name__", name}};
	slod_labels ls = {l, 1};
	tsdb_appender *a = tsdb_appender_new(db);
	tsdb_appender_set_no_sync(a, no_sync);
	assert_int_equal(tsdb_appender_add(a, &ls, 1000, 1.5, NULL), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
}

static long count(tsdb *db, const char *name)
{
	tsdb_matcher m = {.type = TSDB_MATCH_EQ, .name = "__name__", .value = name};
	tsdb_querier *q = tsdb_querier_open(db, 0, INT64_MAX);
	tsdb_series *s;
	size_t n;
	assert_int_equal(tsdb_querier_select(q, &m, 1, &s, &n), 0);
	long k = 0;
	if (n == 1) {
		tsdb_sample *smp = NULL;
		size_t cap = 0;
		k = tsdb_querier_samples(q, s[0].ref, 0, INT64_MAX, &smp, &cap);
		free(smp);
	}
	tsdb_querier_close(q);
	return k;
}

static void test_no_sync_skips_fsync_and_survives_restart(void **state)
{
	(void)state;
	char dir[] = "/tmp/slod-nosync-XXXXXX";
	assert_non_null(mkdtemp(dir));
	tsdb *db = open_at(dir);
	tsdb_stats st0, st1, st2;
	tsdb_get_stats(db, &st0);
	add(db, "acked", false);
	tsdb_get_stats(db, &st1);
	assert_true(st1.wal_fsyncs > st0.wal_fsyncs); /* an acknowledged commit waits for its fsync */
	add(db, "derived", true);
	tsdb_get_stats(db, &st2);
	assert_int_equal(st2.wal_fsyncs, st1.wal_fsyncs); /* a no-sync commit does not */
	assert_true(st2.wal_bytes > st1.wal_bytes);        /* but it is in the WAL */
	tsdb_close(db);
	db = open_at(dir);
	assert_int_equal(count(db, "acked"), 1);
	assert_int_equal(count(db, "derived"), 1);
	tsdb_close(db);
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_sync_skips_fsync_and_survives_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
