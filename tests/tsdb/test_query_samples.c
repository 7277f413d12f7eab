/*
 * Tests for tsdb_querier_samples() (tsdb/head.c): every [mint, maxt] window over series with many
 * sealed chunks, an open chunk and out-of-order samples must return exactly the model's samples
 * (timestamps and value bits), in order, through one output buffer reused across calls and
 * queriers (the buffer grows per chunk, not per sample). Covers the shortcuts: sealed chunks ending
 * before mint are skipped, the sealed-chunk metadata is not consulted when the open chunk starts at
 * or before mint, decoding stops at the first t > maxt.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/tsdb/tsdb_testutil.h"

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

typedef struct model {
	tsdb_ref ref;
	size_t n;
	int64_t t[16000];
	uint64_t v[16000];
} model;

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorts the model by t (values follow their timestamps). */
static void model_sort(model *m)
{
	struct pair {
		int64_t t;
		uint64_t v;
	} *p = malloc(m->n * sizeof *p);
	assert_non_null(p);
	for (size_t i = 0; i < m->n; i++)
		p[i].t = m->t[i], p[i].v = m->v[i];
	qsort(p, m->n, sizeof *p, cmp_i64);
	for (size_t i = 0; i < m->n; i++)
		m->t[i] = p[i].t, m->v[i] = p[i].v;
	free(p);
}

static void check_window(tsdb *db, const model *m, int64_t mint, int64_t maxt, tsdb_sample **out, size_t *cap)
{
	tsdb_querier *q = tsdb_querier_open(db, mint, maxt);
	assert_non_null(q);
	long n = tsdb_querier_samples(q, m->ref, mint, maxt, out, cap);
	tsdb_querier_close(q);
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->t[i] < mint || m->t[i] > maxt)
			continue;
		assert_true((long)k < n);
		assert_int_equal((*out)[k].t, m->t[i]);
		assert_int_equal(tu_bits((*out)[k].v), m->v[i]);
		k++;
	}
	assert_int_equal(n, (long)k);
}

static uint64_t value_for(size_t i)
{
	switch (i % 9) {
	case 0:
		return TSDB_STALE_NAN_BITS;
	case 1:
		return tu_bits(-0.0);
	case 2:
		return tu_bits(INFINITY);
	case 3:
		return rnd();
	default:
		return tu_bits((double)(i / 3) * 1.5);
	}
}

static void test_windows(void **state)
{
	(void)state;
	tsdb_options o;
	tsdb_options_default(&o);
	o.ooo_window_ms = 3600 * 1000;
	o.retention_ms = 0;
	tsdb *db = NULL;
	char err[256];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof err), 0);

	/* s=verylong: 100 sealed chunks, so wide windows take the two-thread decode */
	enum { NS = 5 };
	static model ms[NS];
	tu_labels l;
	const char *names[] = {"s=long", "s=short", "s=ooo", "s=single", "s=verylong"};
	const size_t counts[] = {3000, 50, 900, 1, 12000};
	tsdb_appender *a = tsdb_appender_new(db);
	assert_non_null(a);
	for (int s = 0; s < NS; s++) {
		model *m = &ms[s];
		int64_t t = 1790000000000LL + (int64_t)(rnd() % 1000);
		for (size_t i = 0; i < counts[s]; i++) {
			m->t[m->n] = t;
			m->v[m->n] = value_for(i);
			assert_int_equal(tsdb_appender_add(a, tu_parse(&l, names[s]), t, tu_dbl(m->v[m->n]), &m->ref), 0);
			m->n++;
			t += 15000 + (int64_t)(rnd() % 9) - 4 + ((rnd() % 97) == 0 ? 600000 : 0); /* jitter, gaps */
			if (i % 250 == 249)
				assert_int_equal(tsdb_appender_commit(a), 0);
		}
		assert_int_equal(tsdb_appender_commit(a), 0);
	}
	/* out-of-order samples for "s=ooo": between in-order ones, within the window */
	model *mo = &ms[2];
	int64_t newest = mo->t[mo->n - 1];
	for (int k = 0; k < 60; k++) {
		int64_t t = newest - 1 - (int64_t)(rnd() % 3000000);
		bool dup = false;
		for (size_t i = 0; i < mo->n; i++)
			dup |= mo->t[i] == t;
		if (dup)
			continue;
		uint64_t v = value_for((size_t)k);
		assert_int_equal(tsdb_appender_add(a, tu_parse(&l, names[2]), t, tu_dbl(v), &mo->ref), 0);
		assert_int_equal(tsdb_appender_commit(a), 0);
		mo->t[mo->n] = t;
		mo->v[mo->n] = v;
		mo->n++;
	}
	tsdb_appender_free(a);
	for (int s = 0; s < NS; s++)
		model_sort(&ms[s]);

	tsdb_sample *out = NULL;
	size_t cap = 0;
	for (int s = 0; s < NS; s++) {
		const model *m = &ms[s];
		int64_t lo = m->t[0], hi = m->t[m->n - 1];
		check_window(db, m, INT64_MIN, INT64_MAX, &out, &cap);
		check_window(db, m, lo, hi, &out, &cap);
		check_window(db, m, lo + 1, hi - 1, &out, &cap);
		check_window(db, m, hi, hi, &out, &cap);
		check_window(db, m, hi + 1, INT64_MAX, &out, &cap);
		check_window(db, m, INT64_MIN, lo - 1, &out, &cap);
		check_window(db, m, hi, lo, &out, &cap); /* empty: mint > maxt */
		/* windows starting and ending exactly on, just before and just after samples */
		for (int k = 0; k < 400; k++) {
			int64_t a0 = m->t[rnd() % m->n] + (int64_t)(rnd() % 3) - 1;
			int64_t b0 = m->t[rnd() % m->n] + (int64_t)(rnd() % 3) - 1;
			if (a0 > b0 && (k & 1)) {
				int64_t x = a0;
				a0 = b0;
				b0 = x;
			}
			check_window(db, m, a0, b0, &out, &cap);
			/* the typical range-vector window: the last few minutes */
			check_window(db, m, hi - (int64_t)(rnd() % 1000000), hi, &out, &cap);
		}
	}
	/* a fresh buffer per call works too, and an unknown ref yields nothing */
	tsdb_sample *fresh = NULL;
	assert_int_equal(tu_samples(db, ms[0].ref, INT64_MIN, INT64_MAX, &fresh), (long)ms[0].n);
	free(fresh);
	fresh = NULL;
	assert_int_equal(tu_samples(db, 999999, INT64_MIN, INT64_MAX, &fresh), 0);
	free(fresh);
	free(out);
	tsdb_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
