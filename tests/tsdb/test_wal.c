/* Tests for tsdb/wal.c: replay, torn tails, corruption, ref mapping, fsync policies, kill -9. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/tsdb/tsdb_testutil.h"
#include "tsdb/tsdb_int.h"

/* ---- helpers ---- */

static tsdb *open_dir(const char *dir, tsdb_fsync_policy pol, tu_logcap *lc)
{
	tsdb_options o;
	tsdb_options_default(&o);
	o.dir = dir;
	o.retention_ms = 0;
	o.fsync_policy = pol;
	o.fsync_interval_ms = 20;
	if (lc) {
		o.logger.fn = tu_log_fn;
		o.logger.ud = lc;
		o.logger.min_level = SLOD_LOG_DEBUG;
	}
	tsdb *db = NULL;
	char err[256] = "";
	int rc = tsdb_open(&o, &db, err, sizeof(err));
	if (rc)
		print_message("open: %s\n", err);
	assert_int_equal(rc, 0);
	return db;
}

static void seg_name(const char *dir, int seg, char *out, size_t n)
{
	snprintf(out, n, "%s/wal/%08d", dir, seg);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long l = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)l + 1);
	assert_int_equal(fread(b, 1, (size_t)l, f), (size_t)l);
	fclose(f);
	*len = (size_t)l;
	return b;
}

static void spit(const char *path, const uint8_t *b, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, len, f), len);
	fclose(f);
}

static long file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	return (long)st.st_size;
}

/* Value of sample i of series k in the batches below. */
static double val(int k, int i)
{
	if (i % 10 == 9)
		return tu_dbl(TSDB_STALE_NAN_BITS);
	return k * 1000.0 + i * 0.25;
}

/* Checks series "s=k" holds exactly samples 0..n-1. */
static void check_series(tsdb *db, int k, int n)
{
	char spec[32];
	snprintf(spec, sizeof(spec), "%d", k);
	tsdb_matcher m = tu_m(TSDB_MATCH_EQ, "s", spec, NULL);
	tsdb_querier *q = tsdb_querier_open(db, INT64_MIN, INT64_MAX);
	tsdb_series *ss;
	size_t ns;
	assert_int_equal(tsdb_querier_select(q, &m, 1, &ss, &ns), 0);
	if (n == 0) {
		assert_int_equal(ns, 0);
		tsdb_querier_close(q);
		return;
	}
	assert_int_equal(ns, 1);
	tsdb_sample *b = NULL;
	size_t cap = 0;
	long got = tsdb_querier_samples(q, ss[0].ref, INT64_MIN, INT64_MAX, &b, &cap);
	assert_int_equal(got, n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(b[i].t, 1000 + i * 10);
		assert_int_equal(tu_bits(b[i].v), tu_bits(val(k, i)));
	}
	free(b);
	tsdb_querier_close(q);
}

static int add(tsdb_appender *a, int k, int i, tsdb_ref *ref)
{
	tu_labels l;
	char spec[64];
	snprintf(spec, sizeof(spec), "__name__=m,s=%d", k);
	return tsdb_appender_add(a, tu_parse(&l, spec), 1000 + i * 10, val(k, i), ref);
}

/* ---- tests ---- */

static void test_replay_roundtrip(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("wal");
	tu_logcap lc = {PTHREAD_MUTEX_INITIALIZER, ""};
	tsdb *db = open_dir(dir, TSDB_FSYNC_NEVER, NULL);
	tsdb_appender *a = tsdb_appender_new(db);
	tsdb_ref refs[5];
	for (int i = 0; i < 300; i++) {
		for (int k = 0; k < 5; k++)
			assert_int_equal(add(a, k, i, &refs[k]), 0);
		assert_int_equal(tsdb_appender_commit(a), 0);
	}
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	assert_true(st.wal_bytes > 0);
	assert_int_equal(st.wal_fsyncs, 0);
	tsdb_appender_free(a);
	tsdb_close(db);

	db = open_dir(dir, TSDB_FSYNC_ALWAYS, &lc);
	assert_non_null(strstr(lc.text, "replay done"));
	for (int k = 0; k < 5; k++)
		check_series(db, k, 300);
	/* refs survive the restart */
	a = tsdb_appender_new(db);
	for (int k = 0; k < 5; k++)
		assert_int_equal(tsdb_appender_add_ref(a, refs[k], 1000 + 300 * 10, val(k, 300)), 0);
	/* and a new series gets a fresh ref */
	tsdb_ref nref;
	assert_int_equal(add(a, 77, 0, &nref), 0);
	for (int k = 0; k < 5; k++)
		assert_true(nref != refs[k]);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_get_stats(db, &st);
	assert_true(st.wal_fsyncs >= 1);
	tsdb_appender_free(a);
	tsdb_close(db);

	db = open_dir(dir, TSDB_FSYNC_ALWAYS, NULL);
	/* a second open of the same directory is refused while the first is open */
	{
		tsdb_options o2;
		tsdb_options_default(&o2);
		o2.dir = dir;
		tsdb *db2 = NULL;
		char err2[256];
		assert_int_equal(tsdb_open(&o2, &db2, err2, sizeof(err2)), TSDB_ERR_IO);
		assert_null(db2);
		assert_non_null(strstr(err2, "in use"));
	}
	for (int k = 0; k < 5; k++)
		check_series(db, k, 301);
	check_series(db, 77, 1);
	a = tsdb_appender_new(db);
	tsdb_ref r2;
	assert_int_equal(add(a, 3, 301, &r2), 0);
	assert_int_equal(r2, refs[3]);
	tsdb_appender_free(a);
	tsdb_close(db);
	tu_rm_rf(dir);
	free(dir);
}

static void test_torn_tail(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("wal");
	char seg[512];
	seg_name(dir, 0, seg, sizeof(seg));
	tsdb *db = open_dir(dir, TSDB_FSYNC_NEVER, NULL);
	tsdb_appender *a = tsdb_appender_new(db);
	for (int i = 0; i < 20; i++) {
		for (int k = 0; k < 3; k++)
			assert_int_equal(add(a, k, i, NULL), 0);
		assert_int_equal(tsdb_appender_commit(a), 0);
	}
	long before = file_size(seg);
	/* the last commit: one new series (SERIES record) plus samples */
	assert_int_equal(add(a, 0, 20, NULL), 0);
	assert_int_equal(add(a, 9, 0, NULL), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	tsdb_close(db);
	size_t len;
	uint8_t *orig = slurp(seg, &len);
	assert_true((long)len > before);

	int clean_cuts = 0;
	long series_end = -1;
	for (size_t cut = (size_t)before; cut <= len; cut++) {
		tu_rm_rf(dir);
		assert_int_equal(mkdir(dir, 0755), 0);
		char wdir[512];
		snprintf(wdir, sizeof(wdir), "%s/wal", dir);
		assert_int_equal(mkdir(wdir, 0755), 0);
		spit(seg, orig, cut);
		tu_logcap lc = {PTHREAD_MUTEX_INITIALIZER, ""};
		db = open_dir(dir, TSDB_FSYNC_NEVER, &lc);
		bool whole = cut == len;
		for (int k = 1; k < 3; k++)
			check_series(db, k, 20);
		check_series(db, 0, whole ? 21 : 20);
		check_series(db, 9, whole ? 1 : 0);
		if (!whole && cut > (size_t)before) {
			long sz = file_size(seg);
			if (strstr(lc.text, "truncating")) {
				/* back to the end of the last whole record: before, or the SERIES record */
				assert_true(sz < (long)cut);
				assert_true(sz == before || sz == series_end);
			} else {
				/* the cut fell exactly between the SERIES and SAMPLES records */
				assert_int_equal(sz, (long)cut);
				clean_cuts++;
				series_end = sz;
			}
		}
		/* the database keeps working after the repair */
		a = tsdb_appender_new(db);
		assert_int_equal(add(a, 1, 20, NULL), 0);
		assert_int_equal(tsdb_appender_commit(a), 0);
		tsdb_appender_free(a);
		tsdb_close(db);
		db = open_dir(dir, TSDB_FSYNC_NEVER, NULL);
		check_series(db, 1, 21);
		check_series(db, 0, whole ? 21 : 20);
		tsdb_close(db);
	}
	assert_int_equal(clean_cuts, 1);
	free(orig);
	tu_rm_rf(dir);
	free(dir);
}

static void test_corrupt_middle(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("wal");
	char seg[512];
	seg_name(dir, 0, seg, sizeof(seg));
	tsdb *db = open_dir(dir, TSDB_FSYNC_NEVER, NULL);
	tsdb_appender *a = tsdb_appender_new(db);
	long sizes[10];
	for (int i = 0; i < 10; i++) {
		assert_int_equal(add(a, 0, i, NULL), 0);
		assert_int_equal(tsdb_appender_commit(a), 0);
		sizes[i] = file_size(seg);
	}
	tsdb_appender_free(a);
	tsdb_close(db);
	/* flip one byte inside the 6th commit's record body */
	size_t len;
	uint8_t *b = slurp(seg, &len);
	b[sizes[4] + 10] ^= 0x40;
	spit(seg, b, len);
	free(b);
	tu_logcap lc = {PTHREAD_MUTEX_INITIALIZER, ""};
	db = open_dir(dir, TSDB_FSYNC_NEVER, &lc);
	assert_non_null(strstr(lc.text, "checksum mismatch"));
	check_series(db, 0, 5);
	tsdb_close(db);
	/* corrupt length field: also detected, never read past the end */
	b = slurp(seg, &len);
	assert_int_equal((long)len, sizes[4]);
	b[sizes[3]] = 0xff;
	b[sizes[3] + 1] = 0xff;
	b[sizes[3] + 2] = 0xff;
	spit(seg, b, len);
	free(b);
	db = open_dir(dir, TSDB_FSYNC_NEVER, NULL);
	check_series(db, 0, 4);
	tsdb_close(db);
	/* garbage segment header */
	spit(seg, (const uint8_t *)"garbage!garbage!", 16);
	db = open_dir(dir, TSDB_FSYNC_NEVER, NULL);
	check_series(db, 0, 0);
	tsdb_close(db);
	tu_rm_rf(dir);
	free(dir);
}

typedef struct gc_arg {
	tsdb *db;
	int k;
	int errors;
} gc_arg;

static void *group_commit_thread(void *p)
{
	gc_arg *g = p;
	tsdb_appender *a = tsdb_appender_new(g->db);
	for (int i = 0; i < 40; i++) {
		if (add(a, g->k, i, NULL) != 0 || tsdb_appender_commit(a) != 0)
			g->errors++;
	}
	tsdb_appender_free(a);
	return NULL;
}

static void test_fsync_policies(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("wal");
	/* ALWAYS with concurrent committers: every commit is covered by some fsync */
	tsdb *db = open_dir(dir, TSDB_FSYNC_ALWAYS, NULL);
	pthread_t th[4];
	gc_arg ga[4];
	for (int i = 0; i < 4; i++) {
		ga[i] = (gc_arg){db, i, 0};
		pthread_create(&th[i], NULL, group_commit_thread, &ga[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ga[i].errors, 0);
	}
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	print_message("160 commits, %llu fsyncs, %.3f s\n", (unsigned long long)st.wal_fsyncs, st.wal_fsync_seconds_total);
	assert_true(st.wal_fsyncs >= 1 && st.wal_fsyncs <= 160);
	tsdb_close(db);
	db = open_dir(dir, TSDB_FSYNC_INTERVAL, NULL);
	for (int i = 0; i < 4; i++)
		check_series(db, i, 40);
	/* INTERVAL: the background thread fsyncs */
	tsdb_appender *a = tsdb_appender_new(db);
	assert_int_equal(add(a, 5, 0, NULL), 0);
	assert_int_equal(tsdb_appender_commit(a), 0);
	for (int i = 0; i < 200; i++) {
		tsdb_get_stats(db, &st);
		if (st.wal_fsyncs > 0)
			break;
		usleep(10000);
	}
	assert_true(st.wal_fsyncs > 0);
	tsdb_appender_free(a);
	tsdb_close(db);
	tu_rm_rf(dir);
	free(dir);
}

/* A child appends and acknowledges each commit on a pipe; the parent SIGKILLs it mid-stream and
 * checks that every acknowledged sample is there after reopening. */
static void test_kill9(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("wal");
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		tsdb_options o;
		tsdb_options_default(&o);
		o.dir = dir;
		o.retention_ms = 0;
		o.fsync_policy = TSDB_FSYNC_NEVER;
		tsdb *db;
		char err[128];
		if (tsdb_open(&o, &db, err, sizeof(err)))
			_exit(2);
		tsdb_appender *a = tsdb_appender_new(db);
		for (int i = 0;; i++) {
			for (int k = 0; k < 4; k++)
				add(a, k, i, NULL);
			if (tsdb_appender_commit(a))
				_exit(3);
			int32_t ack = i;
			if (write(fds[1], &ack, sizeof(ack)) != sizeof(ack))
				_exit(4);
		}
	}
	close(fds[1]);
	int32_t ack = -1, last = -1;
	while (read(fds[0], &ack, sizeof(ack)) == sizeof(ack)) {
		last = ack;
		if (last >= 2000)
			break;
	}
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));
	/* drain acks already written */
	while (read(fds[0], &ack, sizeof(ack)) == sizeof(ack))
		last = ack;
	close(fds[0]);
	assert_true(last >= 2000);
	tsdb *db = open_dir(dir, TSDB_FSYNC_NEVER, NULL);
	for (int k = 0; k < 4; k++) {
		char spec[8];
		snprintf(spec, sizeof(spec), "%d", k);
		tsdb_matcher m = tu_m(TSDB_MATCH_EQ, "s", spec, NULL);
		tsdb_querier *q = tsdb_querier_open(db, INT64_MIN, INT64_MAX);
		tsdb_series *ss;
		size_t ns;
		assert_int_equal(tsdb_querier_select(q, &m, 1, &ss, &ns), 0);
		assert_int_equal(ns, 1);
		tsdb_sample *b = NULL;
		size_t cap = 0;
		long n = tsdb_querier_samples(q, ss[0].ref, INT64_MIN, INT64_MAX, &b, &cap);
		assert_true(n >= last + 1);
		for (long i = 0; i < n; i++)
			assert_int_equal(tu_bits(b[i].v), tu_bits(val(k, (int)i)));
		free(b);
		tsdb_querier_close(q);
	}
	tsdb_close(db);
	tu_rm_rf(dir);
	free(dir);
}

/* Concurrent appenders creating the same new series: the SERIES record always precedes samples. */
static void *race_thread(void *p)
{
	gc_arg *g = p;
	tsdb_appender *a = tsdb_appender_new(g->db);
	for (int i = 0; i < 200; i++) {
		tu_labels l;
		char spec[64];
		snprintf(spec, sizeof(spec), "__name__=race,n=%d", i);
		int rc = tsdb_appender_add(a, tu_parse(&l, spec), 1000 + g->k, g->k, NULL);
		if (rc < 0 && rc != TSDB_ERR_OUT_OF_ORDER)
			g->errors++;
		if (tsdb_appender_commit(a))
			g->errors++;
	}
	tsdb_appender_free(a);
	return NULL;
}

static void test_series_record_order(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("wal");
	tsdb *db = open_dir(dir, TSDB_FSYNC_NEVER, NULL);
	pthread_t th[3];
	gc_arg ga[3];
	for (int i = 0; i < 3; i++) {
		ga[i] = (gc_arg){db, i, 0};
		pthread_create(&th[i], NULL, race_thread, &ga[i]);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ga[i].errors, 0);
	}
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	uint64_t appended = st.samples_appended;
	tsdb_close(db);
	tu_logcap lc = {PTHREAD_MUTEX_INITIALIZER, ""};
	db = open_dir(dir, TSDB_FSYNC_NEVER, &lc);
	assert_null(strstr(lc.text, "unknown series"));
	tsdb_get_stats(db, &st);
	assert_int_equal(st.series, 200);
	assert_true(st.samples_appended >= appended);
	tsdb_close(db);
	tu_rm_rf(dir);
	free(dir);
}

/* Random interleaved appends with out-of-order and duplicate samples: after a restart the data is
 * exactly what queries saw before (replay makes the same accept/reject decisions). */
static void test_replay_identical(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("wal");
	tsdb_options o;
	tsdb_options_default(&o);
	o.dir = dir;
	o.retention_ms = 0;
	o.ooo_window_ms = 50;
	o.fsync_policy = TSDB_FSYNC_NEVER;
	tsdb *db;
	char err[128];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof(err)), 0);
	tsdb_appender *a = tsdb_appender_new(db);
	enum { K = 40 };
	tsdb_ref refs[K];
	uint64_t x = 12345;
	for (int k = 0; k < K; k++) {
		tu_labels l;
		char spec[32];
		snprintf(spec, sizeof(spec), "s=%d", k);
		assert_int_equal(tsdb_appender_add(a, tu_parse(&l, spec), 0, 0, &refs[k]), 0);
	}
	for (int i = 0; i < 20000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		int k = (int)((x >> 33) % K);
		int64_t t = i / 4 + (int64_t)((x >> 20) % 120) - 60;
		double v = (double)((x >> 40) % 3);
		(void)tsdb_appender_add_ref(a, refs[k], t, v);
		if ((x >> 50) % 7 == 0)
			assert_int_equal(tsdb_appender_commit(a), 0);
	}
	assert_int_equal(tsdb_appender_commit(a), 0);
	tsdb_appender_free(a);
	tsdb_sample *before[K];
	long nb[K];
	for (int k = 0; k < K; k++)
		nb[k] = tu_samples(db, refs[k], INT64_MIN, INT64_MAX, &before[k]);
	tsdb_close(db);
	assert_int_equal(tsdb_open(&o, &db, err, sizeof(err)), 0);
	long total = 0;
	for (int k = 0; k < K; k++) {
		tsdb_sample *after;
		long na = tu_samples(db, refs[k], INT64_MIN, INT64_MAX, &after);
		assert_int_equal(na, nb[k]);
		for (long i = 0; i < na; i++) {
			assert_int_equal(after[i].t, before[k][i].t);
			assert_int_equal(tu_bits(after[i].v), tu_bits(before[k][i].v));
		}
		total += na;
		free(after);
		free(before[k]);
	}
	assert_true(total > 1000);
	tsdb_close(db);
	tu_rm_rf(dir);
	free(dir);
}

static void test_crc32c(void **state)
{
	(void)state;
	assert_int_equal(tsdb__crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(tsdb__crc32c_sw(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(tsdb__crc32c(0, "", 0), 0);
	/* incremental == one shot; hardware == table at every length and alignment */
	uint8_t b[300];
	for (int i = 0; i < 300; i++)
		b[i] = (uint8_t)(i * 37 + 11);
	for (size_t off = 0; off < 8; off++) {
		for (size_t n = 0; n + off <= 300; n += 7) {
			uint32_t one = tsdb__crc32c(0, b + off, n);
			assert_int_equal(one, tsdb__crc32c_sw(0, b + off, n));
			assert_int_equal(one, tsdb__crc32c(tsdb__crc32c(0, b + off, n / 2), b + off + n / 2, n - n / 2));
		}
	}
}

/* A write that fails (file size limit, like a full disk) is rolled back: the commit fails, its
 * samples are invisible, and after a restart exactly the acknowledged samples are there. */
static void test_write_failure(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp("wal");
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = {6000, 6000};
		if (setrlimit(RLIMIT_FSIZE, &rl))
			_exit(2);
		tsdb_options o;
		tsdb_options_default(&o);
		o.dir = dir;
		o.retention_ms = 0;
		o.fsync_policy = TSDB_FSYNC_NEVER;
		tsdb *db;
		char err[128];
		if (tsdb_open(&o, &db, err, sizeof(err)))
			_exit(3);
		tsdb_appender *a = tsdb_appender_new(db);
		int acked = 0, failed = 0;
		for (int i = 0; i < 2000 && failed < 3; i++) {
			add(a, 0, i, NULL);
			if (tsdb_appender_commit(a) == 0) {
				if (failed)
					_exit(4); /* nothing may be acknowledged after a failed, un-undone write */
				acked = i + 1;
			} else {
				failed++;
				/* the failed sample is not visible */
				tsdb_sample *b;
				tsdb_ref r;
				add(a, 0, 0, &r);
				tsdb_appender_rollback(a);
				if (tu_samples(db, r, INT64_MIN, INT64_MAX, &b) != acked)
					_exit(5);
				free(b);
				break;
			}
		}
		if (write(fds[1], &acked, sizeof(acked)) != sizeof(acked))
			_exit(6);
		_exit(failed ? 0 : 7);
	}
	close(fds[1]);
	int acked = -1;
	assert_int_equal(read(fds[0], &acked, sizeof(acked)), sizeof(acked));
	close(fds[0]);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(acked > 10);
	tu_logcap lc = {PTHREAD_MUTEX_INITIALIZER, ""};
	tsdb *db = open_dir(dir, TSDB_FSYNC_NEVER, &lc);
	assert_null(strstr(lc.text, "truncating")); /* the failed write left no torn record */
	check_series(db, 0, acked);
	tsdb_close(db);
	tu_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_replay_roundtrip),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_corrupt_middle),
		cmocka_unit_test(test_fsync_policies),
		cmocka_unit_test(test_kill9),
		cmocka_unit_test(test_series_record_order),
		cmocka_unit_test(test_replay_identical),
		cmocka_unit_test(test_write_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
