/* Tests for tsdb/chunk.c: the Gorilla/XOR codec (format in docs/format/chunk.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <float.h>
#include <time.h>
#include <cmocka.h>

#include "tsdb/chunk.h"
#include "tsdb/tsdb.h"

#define STALE_BITS 0x7ff0000000000002ULL

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double fromb(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

static uint64_t tob(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	return u;
}

/* Encodes n samples into cbuf (cap bytes) with one appender; returns the length. */
static size_t encode(uint8_t *cbuf, size_t cap, const int64_t *ts, const uint64_t *vs, size_t n)
{
	tsdb__chunk_app a;
	tsdb__chunk_app_init(&a, cbuf, cap);
	for (size_t i = 0; i < n; i++) {
		size_t need = tsdb__chunk_app_need(&a, ts[i], fromb(vs[i]));
		assert_int_equal(tsdb__chunk_app_append(&a, ts[i], fromb(vs[i])), 0);
		assert_int_equal(tsdb__chunk_app_len(&a), need);
	}
	assert_int_equal(tsdb__chunk_count(cbuf, tsdb__chunk_app_len(&a)), n);
	return tsdb__chunk_app_len(&a);
}

/* ---- reference decoder ----
 * A deliberately plain reading of docs/format/chunk.md, one bit at a time, written independently
 * of tsdb/chunk.c. A sample is produced only if every one of its bits lies inside len; reading
 * past len, an overlong varint or L' + M > 64 ends the decode with *err set. */

typedef struct refrd {
	const uint8_t *d;
	size_t nbits, pos;
	bool past;
} refrd;

static uint64_t ref_bits(refrd *r, unsigned n)
{
	uint64_t u = 0;
	for (unsigned k = 0; k < n; k++, r->pos++) {
		unsigned bit = 0;
		if (r->pos < r->nbits)
			bit = (r->d[r->pos >> 3] >> (7 - (r->pos & 7))) & 1;
		else
			r->past = true;
		u = (u << 1) | bit;
	}
	return u;
}

static uint64_t ref_uvarint(refrd *r, bool *bad)
{
	uint64_t u = 0;
	for (unsigned k = 0; k < 10; k++) {
		uint64_t b = ref_bits(r, 8);
		if (k == 9 && b > 1)
			break;
		u |= (b & 0x7f) << (7 * k);
		if (b < 0x80)
			return u;
	}
	*bad = true;
	return 0;
}

typedef struct refstate {
	int64_t t, delta;
	uint64_t v;
	int lead, trail; /* lead -1: no window yet */
} refstate;

static void ref_value(refrd *r, refstate *s, bool *bad)
{
	if (!ref_bits(r, 1))
		return;
	if (!ref_bits(r, 1)) {
		if (s->lead < 0)
			s->lead = 0, s->trail = 0;
		unsigned sig = (unsigned)(64 - s->lead - s->trail);
		s->v ^= ref_bits(r, sig) << s->trail;
		return;
	}
	int lead = (int)ref_bits(r, 5);
	int m = (int)ref_bits(r, 6);
	if (m == 0)
		m = 64;
	if (lead + m > 64) {
		*bad = true;
		return;
	}
	s->lead = lead;
	s->trail = 64 - lead - m;
	s->v ^= ref_bits(r, (unsigned)m) << s->trail;
}

/* Decodes up to max samples into ts/vs; returns how many; *end_bit is the bit position after them. */
static size_t ref_decode(const uint8_t *d, size_t len, int64_t *ts, uint64_t *vs, size_t max, bool *err,
			 size_t *end_bit)
{
	*err = false;
	*end_bit = 16;
	if (len < 2) {
		*err = true;
		return 0;
	}
	size_t total = ((size_t)d[0] << 8) | d[1];
	refrd r = {d, len * 8, 16, false};
	refstate s = {0, 0, 0, -1, 0};
	for (size_t k = 0; k < total; k++) {
		bool bad = false;
		if (k == 0) {
			uint64_t zz = ref_uvarint(&r, &bad);
			s.t = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
			s.v = ref_bits(&r, 64);
		} else if (k == 1) {
			s.delta = (int64_t)ref_uvarint(&r, &bad);
			s.t = (int64_t)((uint64_t)s.t + (uint64_t)s.delta);
			if (!bad)
				ref_value(&r, &s, &bad);
		} else {
			unsigned n = 64;
			if (!ref_bits(&r, 1))
				n = 0;
			else if (!ref_bits(&r, 1))
				n = 14;
			else if (!ref_bits(&r, 1))
				n = 17;
			else if (!ref_bits(&r, 1))
				n = 20;
			uint64_t dod = n ? ref_bits(&r, n) : 0;
			if (n && n < 64 && dod > (1ULL << (n - 1)))
				dod -= 1ULL << n;
			s.delta = (int64_t)((uint64_t)s.delta + dod);
			s.t = (int64_t)((uint64_t)s.t + (uint64_t)s.delta);
			ref_value(&r, &s, &bad);
		}
		if (bad || r.past) {
			*err = true;
			return k;
		}
		assert_true(k < max);
		ts[k] = s.t;
		vs[k] = s.v;
		*end_bit = r.pos;
	}
	return total;
}

/* Runs the reference decoder, the iterator and tsdb__chunk_decode (over the whole range and over
 * random [mint, maxt] windows) on an exactly-sized heap copy of cbuf (ASan catches any overread;
 * the bulk decoder gets exactly tsdb__chunk_count() output slots, so any overwrite is caught too)
 * and asserts they agree bit for bit, error flag included. Returns the sample count; *err the flag. */
static size_t check_decoders(const uint8_t *cbuf, size_t len, bool *err)
{
	size_t total = tsdb__chunk_count(cbuf, len);
	uint8_t *copy = malloc(len ? len : 1);
	int64_t *rts = malloc((total + 1) * sizeof *rts);
	uint64_t *rvs = malloc((total + 1) * sizeof *rvs);
	tsdb_sample *out = malloc((total ? total : 1) * sizeof *out);
	assert_true(copy && rts && rvs && out);
	memcpy(copy, cbuf, len);

	bool rerr;
	size_t end_bit;
	size_t rn = ref_decode(copy, len, rts, rvs, total, &rerr, &end_bit);

	/* iterator */
	tsdb__chunk_it it;
	tsdb__chunk_it_init(&it, copy, len);
	int64_t t;
	double v;
	size_t n = 0;
	while (tsdb__chunk_it_next(&it, &t, &v)) {
		assert_true(n < rn);
		assert_int_equal(t, rts[n]);
		assert_int_equal(tob(v), rvs[n]);
		n++;
	}
	assert_int_equal(n, rn);
	assert_int_equal(it.err, rerr);
	assert_true(it.pos <= len * 8);
	if (!rerr)
		assert_int_equal(it.pos, end_bit);
	assert_false(tsdb__chunk_it_next(&it, &t, &v));

	/* bulk, whole range */
	bool berr = !rerr;
	size_t bn = tsdb__chunk_decode(copy, len, INT64_MIN, INT64_MAX, out, &berr);
	assert_int_equal(bn, rn);
	assert_int_equal(berr, rerr);
	for (size_t i = 0; i < bn; i++) {
		assert_int_equal(out[i].t, rts[i]);
		assert_int_equal(tob(out[i].v), rvs[i]);
	}

	/* bulk, windows: skip t < mint, stop at the first t > maxt (the querier's contract) */
	for (int w = 0; w < 6 && rn > 0; w++) {
		int64_t mint = rts[rnd() % rn], maxt = rts[rnd() % rn];
		if (w == 1)
			mint = (int64_t)((uint64_t)mint + 1);
		if (w == 2)
			maxt = (int64_t)((uint64_t)maxt - 1);
		if (w == 3 && mint > maxt) {
			int64_t x = mint;
			mint = maxt;
			maxt = x;
		}
		size_t en = 0;
		bool stopped = false;
		size_t want_idx[8]; /* first few indexes only, the rest checked by count + order */
		size_t first = SIZE_MAX;
		for (size_t i = 0; i < rn; i++) {
			if (rts[i] < mint)
				continue;
			if (rts[i] > maxt) {
				stopped = true;
				break;
			}
			if (first == SIZE_MAX)
				first = i;
			if (en < 8)
				want_idx[en] = i;
			en++;
		}
		memset(out, 0, (total ? total : 1) * sizeof *out);
		bn = tsdb__chunk_decode(copy, len, mint, maxt, out, &berr);
		assert_int_equal(bn, en);
		assert_int_equal(berr, rerr && !stopped);
		size_t k = 0;
		for (size_t i = first; k < en; i++) {
			if (rts[i] < mint)
				continue;
			assert_int_equal(out[k].t, rts[i]);
			assert_int_equal(tob(out[k].v), rvs[i]);
			if (k < 8)
				assert_int_equal(want_idx[k], i);
			k++;
		}
	}
	*err = rerr;
	free(copy);
	free(rts);
	free(rvs);
	free(out);
	return rn;
}

/* Decodes with every decoder (check_decoders) and compares with the expected samples. */
static void check_decode(const uint8_t *cbuf, size_t len, const int64_t *ts, const uint64_t *vs, size_t n)
{
	bool err;
	assert_int_equal(check_decoders(cbuf, len, &err), n);
	assert_false(err);
	uint8_t *copy = malloc(len);
	tsdb_sample *out = malloc((n ? n : 1) * sizeof *out);
	assert_true(copy && out);
	memcpy(copy, cbuf, len);
	assert_int_equal(tsdb__chunk_decode(copy, len, INT64_MIN, INT64_MAX, out, &err), n);
	assert_false(err);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(out[i].t, ts[i]);
		assert_int_equal(tob(out[i].v), vs[i]);
	}
	free(out);
	free(copy);
}

static void roundtrip(const int64_t *ts, const uint64_t *vs, size_t n)
{
	size_t cap = 2 + n * TSDB_CHUNK_MAX_SAMPLE_BYTES;
	uint8_t *cbuf = malloc(cap);
	assert_non_null(cbuf);
	size_t len = encode(cbuf, cap, ts, vs, n);
	assert_true(len <= cap);
	check_decode(cbuf, len, ts, vs, n);
	free(cbuf);
}

/* ---- golden bytes: the worked example of docs/format/chunk.md ---- */

static void test_golden_example(void **state)
{
	(void)state;
	static const uint8_t want[] = {0x00, 0x03, 0xD0, 0x0F, 0x3F, 0xF0, 0x00, 0x00, 0x00, 0x00, 0x00,
				       0x00, 0x98, 0x75, 0xC2, 0x5F, 0xFF, 0x80, 0x05, 0xD8, 0x0C};
	int64_t ts[] = {1000, 16000, 31005};
	uint64_t vs[] = {tob(1.0), tob(2.0), tob(3.0)};
	uint8_t cbuf[64];
	memset(cbuf, 0xAA, sizeof cbuf); /* garbage must not leak into the encoding */
	size_t len = encode(cbuf, sizeof cbuf, ts, vs, 3);
	assert_int_equal(len, sizeof want);
	assert_memory_equal(cbuf, want, sizeof want);
	check_decode(want, sizeof want, ts, vs, 3);
}

/* A second golden chunk exercising '0' dod, '10' window reuse and '0' same value. */
static void test_golden_reuse(void **state)
{
	(void)state;
	/* (0,0.5) (10,0.75) (20,0.75) (30,0.625): dod 0,0; x(0.75^0.5)=0x0008000000000000 -> '11'
	 * L=12 M=1; 0.75==0.75 -> '0'; x(0.625^0.75)=0x000C000000000000 -> clz 12, ctz 50: does not
	 * fit window (12,51) -> '11' 01100 000010 11. */
	int64_t ts[] = {0, 10, 20, 30};
	uint64_t vs[] = {tob(0.5), tob(0.75), tob(0.75), tob(0.625)};
	/* 00 04 | 00 (zz 0) | 3FE0000000000000 | 0A | '11 01100 000001 1' '0' '0' '0' '11 01100 000010 11' */
	/* bits after 0A: 11011000 00001100 01101100 00001011 -> D8 0C 6C 0B */
	static const uint8_t want[] = {0x00, 0x04, 0x00, 0x3F, 0xE0, 0x00, 0x00, 0x00, 0x00,
				       0x00, 0x00, 0x0A, 0xD8, 0x0C, 0x6C, 0x0B};
	uint8_t cbuf[64];
	size_t len = encode(cbuf, sizeof cbuf, ts, vs, 4);
	assert_int_equal(len, sizeof want);
	assert_memory_equal(cbuf, want, sizeof want);
	check_decode(want, sizeof want, ts, vs, 4);

	/* '10' reuse: x(3.0^1.0) = 0x7FF8000000000000 sets window (1, 51); x(2.0^3.0) =
	 * 0x0008000000000000 (clz 12, ctz 51) fits it -> '10' + 12 bits, after a '0' dod. */
	tsdb__chunk_app a;
	tsdb__chunk_app_init(&a, cbuf, sizeof cbuf);
	assert_int_equal(tsdb__chunk_app_append(&a, 0, 1.0), 0);
	assert_int_equal(tsdb__chunk_app_append(&a, 1, 3.0), 0);
	assert_int_equal(a.leading, 1);
	assert_int_equal(a.trailing, 51);
	size_t b = a.nbits;
	assert_int_equal(tsdb__chunk_app_append(&a, 2, 2.0), 0);
	assert_int_equal(a.nbits - b, 1 + 2 + 12);
	assert_int_equal(a.leading, 1);
	assert_int_equal(a.trailing, 51);
	int64_t ts2[] = {0, 1, 2};
	uint64_t vs2[] = {tob(1.0), tob(3.0), tob(2.0)};
	check_decode(cbuf, tsdb__chunk_app_len(&a), ts2, vs2, 3);
}

/* ---- bucket boundaries: exact bit costs match Prometheus's bitRange ---- */

static size_t dod_cost(int64_t dod)
{
	/* Samples at 0, 1000, 2000+dod with the same value: third sample costs dod bits + 1. */
	uint8_t cbuf[64];
	tsdb__chunk_app a;
	tsdb__chunk_app_init(&a, cbuf, sizeof cbuf);
	assert_int_equal(tsdb__chunk_app_append(&a, 0, 1.0), 0);
	assert_int_equal(tsdb__chunk_app_append(&a, 1000, 1.0), 0);
	size_t before = a.nbits;
	assert_int_equal(tsdb__chunk_app_append(&a, 2000 + dod, 1.0), 0);
	int64_t ts[] = {0, 1000, 2000 + dod};
	uint64_t vs[] = {tob(1.0), tob(1.0), tob(1.0)};
	check_decode(cbuf, tsdb__chunk_app_len(&a), ts, vs, 3);
	return a.nbits - before - 1;
}

static void test_dod_buckets(void **state)
{
	(void)state;
	assert_int_equal(dod_cost(0), 1);
	assert_int_equal(dod_cost(1), 16);
	assert_int_equal(dod_cost(-1), 16);
	assert_int_equal(dod_cost(8192), 16);
	assert_int_equal(dod_cost(-8191), 16);
	assert_int_equal(dod_cost(-8192), 20);
	assert_int_equal(dod_cost(8193), 20);
	assert_int_equal(dod_cost(65536), 20);
	assert_int_equal(dod_cost(-65535), 20);
	assert_int_equal(dod_cost(-65536), 24);
	assert_int_equal(dod_cost(65537), 24);
	assert_int_equal(dod_cost(524288), 24);
	assert_int_equal(dod_cost(-524287), 24);
	assert_int_equal(dod_cost(-524288), 68);
	assert_int_equal(dod_cost(524289), 68);
	assert_int_equal(dod_cost((int64_t)1 << 40), 68);
}

static void test_value_costs(void **state)
{
	(void)state;
	uint8_t cbuf[64];
	tsdb__chunk_app a;
	tsdb__chunk_app_init(&a, cbuf, sizeof cbuf);
	assert_int_equal(tsdb__chunk_app_append(&a, 0, 0.0), 0);
	size_t b = a.nbits;
	/* x = all 64 bits set: L=0 T=0 M=64 written as 0. */
	assert_int_equal(tsdb__chunk_app_append(&a, 1, fromb(~0ULL)), 0);
	assert_int_equal(a.nbits - b, 8 + 2 + 5 + 6 + 64);
	assert_int_equal(a.leading, 0);
	assert_int_equal(a.trailing, 0);
	/* x = 1: clz 63 capped to 31, T=0 -> fits window (0,0): '10' + 64 bits. */
	b = a.nbits;
	assert_int_equal(tsdb__chunk_app_append(&a, 2, fromb(~0ULL ^ 1)), 0);
	assert_int_equal(a.nbits - b, 1 + 2 + 64);
	/* same value -> '0' */
	b = a.nbits;
	assert_int_equal(tsdb__chunk_app_append(&a, 3, fromb(~0ULL ^ 1)), 0);
	assert_int_equal(a.nbits - b, 1 + 1);
	int64_t ts[] = {0, 1, 2, 3};
	uint64_t vs[] = {0, ~0ULL, ~0ULL ^ 1, ~0ULL ^ 1};
	check_decode(cbuf, tsdb__chunk_app_len(&a), ts, vs, 4);

	/* Leading zeros capped at 31: x = 1 with a fresh window -> L'=31, M=33. */
	tsdb__chunk_app_init(&a, cbuf, sizeof cbuf);
	assert_int_equal(tsdb__chunk_app_append(&a, 0, fromb(0)), 0);
	b = a.nbits;
	assert_int_equal(tsdb__chunk_app_append(&a, 1, fromb(1)), 0);
	assert_int_equal(a.nbits - b, 8 + 2 + 5 + 6 + 33);
	assert_int_equal(a.leading, 31);
	assert_int_equal(a.trailing, 0);
}

/* ---- round trips ---- */

static void test_adversarial_values(void **state)
{
	(void)state;
	uint64_t specials[] = {
		STALE_BITS,
		0x7ff8000000000000ULL, /* quiet NaN */
		0xfff8000000000001ULL, /* negative NaN with payload */
		0x7ff0000000000001ULL, /* signalling NaN */
		0x7fffffffffffffffULL,
		0xffffffffffffffffULL,
		tob(INFINITY),
		tob(-INFINITY),
		tob(0.0),
		tob(-0.0),
		0x0000000000000001ULL, /* smallest denormal */
		0x800fffffffffffffULL, /* largest negative denormal */
		tob(DBL_MAX),
		tob(-DBL_MAX),
		tob(DBL_MIN),
		tob(1.0),
		tob(1.0) ^ 1,
		0x8000000000000000ULL,
		0x0000000100000000ULL,
		0x0000000080000000ULL,
	};
	size_t ns = sizeof specials / sizeof specials[0];
	enum { N = 2000 };
	int64_t ts[N];
	uint64_t vs[N];
	/* every ordered pair of specials, in sequence */
	size_t n = 0;
	for (size_t i = 0; i < ns; i++)
		for (size_t j = 0; j < ns; j++) {
			vs[n] = specials[i];
			ts[n] = (int64_t)n * 15000;
			n++;
			vs[n] = specials[j];
			ts[n] = (int64_t)n * 15000;
			n++;
		}
	roundtrip(ts, vs, n);
	/* random picks */
	for (size_t i = 0; i < N; i++) {
		vs[i] = specials[rnd() % ns];
		ts[i] = -1000000 + (int64_t)i * 7;
	}
	roundtrip(ts, vs, N);
}

static void test_adversarial_timestamps(void **state)
{
	(void)state;
	enum { N = 300 };
	int64_t ts[N];
	uint64_t vs[N];
	for (size_t i = 0; i < N; i++)
		vs[i] = tob((double)i);

	/* equal gaps, negative timestamps */
	for (size_t i = 0; i < N; i++)
		ts[i] = -5000000 + (int64_t)i * 15000;
	roundtrip(ts, vs, N);

	/* extremes of int64: INT64_MIN, then a jump near INT64_MAX (uvarint delta of 10 bytes) */
	ts[0] = INT64_MIN;
	ts[1] = INT64_MAX - 1000;
	ts[2] = INT64_MAX;
	roundtrip(ts, vs, 3);
	ts[0] = INT64_MIN;
	ts[1] = INT64_MIN + 1;
	ts[2] = INT64_MAX; /* dod needs the 64-bit bucket */
	ts[3] = INT64_MAX;
	roundtrip(ts, vs, 3);

	/* huge gaps alternating with tiny ones */
	int64_t t = INT64_MIN / 2;
	for (size_t i = 0; i < N; i++) {
		ts[i] = t;
		t += (i & 1) ? 1 : ((int64_t)1 << 50) + (int64_t)(rnd() % 1000000);
	}
	roundtrip(ts, vs, N);

	/* random deltas from every bucket */
	static const int64_t spans[] = {1, 8192, 65536, 524288, (int64_t)1 << 40};
	t = -1;
	for (size_t i = 0; i < N; i++) {
		ts[i] = t;
		t += 1 + (int64_t)(rnd() % (uint64_t)spans[rnd() % 5]);
	}
	roundtrip(ts, vs, N);

	/* non-monotonic timestamps also round-trip (wrapping arithmetic) */
	for (size_t i = 0; i < N; i++)
		ts[i] = (int64_t)rnd();
	roundtrip(ts, vs, N);
}

static void test_random_roundtrip(void **state)
{
	(void)state;
	enum { N = 1000 };
	int64_t ts[N];
	uint64_t vs[N];
	for (int round = 0; round < 50; round++) {
		size_t n = 1 + rnd() % N;
		int64_t t = (int64_t)(rnd() % 2000000000000ULL) - 1000000000000LL;
		double g = 0;
		for (size_t i = 0; i < n; i++) {
			ts[i] = t;
			t += 15000 + (int64_t)(rnd() % 11) - 5;
			switch (round % 4) {
			case 0:
				vs[i] = rnd();
				break;
			case 1:
				g += (double)(rnd() % 100) / 100.0;
				vs[i] = tob(g);
				break;
			case 2:
				vs[i] = tob((double)(rnd() % 4));
				break;
			default:
				vs[i] = (rnd() % 5 == 0) ? STALE_BITS : tob((double)(int64_t)(rnd() % 1000) * 0.1);
			}
		}
		roundtrip(ts, vs, n);
	}
}

static void test_full_chunk(void **state)
{
	(void)state;
	enum { N = TSDB_CHUNK_TARGET_SAMPLES };
	int64_t ts[N];
	uint64_t vs[N];
	for (size_t i = 0; i < N; i++) {
		ts[i] = 1790000000000LL + (int64_t)i * 15000;
		vs[i] = tob(100.0 + (double)i * 3);
	}
	roundtrip(ts, vs, N);

	/* the hard limit of 65535 samples: the next append fails even with room */
	size_t cap = 2 + (size_t)TSDB_CHUNK_MAX_SAMPLES * 4 + 64;
	uint8_t *cbuf = malloc(cap);
	assert_non_null(cbuf);
	tsdb__chunk_app a;
	tsdb__chunk_app_init(&a, cbuf, cap);
	for (int64_t i = 0; i < TSDB_CHUNK_MAX_SAMPLES; i++)
		assert_int_equal(tsdb__chunk_app_append(&a, i * 10, (double)(i % 7)), 0);
	assert_true(tsdb__chunk_app_full(&a));
	tsdb__chunk_app before = a;
	assert_int_equal(tsdb__chunk_app_append(&a, TSDB_CHUNK_MAX_SAMPLES * 10, 1.0), -1);
	assert_memory_equal(&a, &before, sizeof a);
	assert_int_equal(tsdb__chunk_count(cbuf, tsdb__chunk_app_len(&a)), TSDB_CHUNK_MAX_SAMPLES);
	tsdb__chunk_it it;
	tsdb__chunk_it_init(&it, cbuf, tsdb__chunk_app_len(&a));
	int64_t t;
	double v;
	int64_t i = 0;
	while (tsdb__chunk_it_next(&it, &t, &v)) {
		assert_int_equal(t, i * 10);
		assert_true(v == (double)(i % 7));
		i++;
	}
	assert_false(it.err);
	assert_int_equal(i, TSDB_CHUNK_MAX_SAMPLES);
	free(cbuf);
}

/* ---- buffer too small: atomic failure, then success after growing ---- */

static void test_buffer_too_small(void **state)
{
	(void)state;
	enum { N = 400 };
	int64_t ts[N];
	uint64_t vs[N];
	for (size_t i = 0; i < N; i++) {
		ts[i] = (int64_t)(i * 15000 + rnd() % 7);
		vs[i] = (i % 3 == 0) ? rnd() : tob((double)(rnd() % 50));
	}
	if (N > 5)
		ts[5] = ts[4] + ((int64_t)1 << 45); /* a 64-bit dod */

	uint8_t ref[2 + N * TSDB_CHUNK_MAX_SAMPLE_BYTES];
	size_t ref_len = encode(ref, sizeof ref, ts, vs, N);

	/* Grow by one byte at a time; every failure must leave buffer and state untouched. */
	uint8_t *cbuf = malloc(2);
	assert_non_null(cbuf);
	size_t cap = 2;
	tsdb__chunk_app a;
	tsdb__chunk_app_init(&a, cbuf, cap);
	size_t failures = 0;
	for (size_t i = 0; i < N; i++) {
		for (;;) {
			tsdb__chunk_app snap = a;
			uint8_t *copy = malloc(cap);
			assert_non_null(copy);
			memcpy(copy, cbuf, cap);
			size_t need = tsdb__chunk_app_need(&a, ts[i], fromb(vs[i]));
			int rc = tsdb__chunk_app_append(&a, ts[i], fromb(vs[i]));
			if (rc == 0) {
				assert_true(need <= cap);
				free(copy);
				break;
			}
			assert_int_equal(rc, -1);
			assert_true(need > cap);
			assert_memory_equal(&a, &snap, sizeof a);
			assert_memory_equal(cbuf, copy, cap);
			free(copy);
			failures++;
			cap++;
			cbuf = realloc(cbuf, cap);
			assert_non_null(cbuf);
			a.data = cbuf;
			a.cap = cap;
		}
	}
	assert_true(failures > 0);
	assert_int_equal(tsdb__chunk_app_len(&a), ref_len);
	assert_memory_equal(cbuf, ref, ref_len);
	check_decode(cbuf, ref_len, ts, vs, N);
	free(cbuf);

	/* growing straight to need() succeeds in one retry */
	uint8_t small[2];
	tsdb__chunk_app b;
	tsdb__chunk_app_init(&b, small, sizeof small);
	assert_int_equal(tsdb__chunk_app_append(&b, 1, 1.0), -1);
	size_t need = tsdb__chunk_app_need(&b, 1, 1.0);
	assert_int_equal(need, 2 + 1 + 8);
	uint8_t big[11];
	memcpy(big, small, 2);
	b.data = big;
	b.cap = need;
	assert_int_equal(tsdb__chunk_app_append(&b, 1, 1.0), 0);
	assert_int_equal(tsdb__chunk_app_len(&b), need);
}

/* ---- resume ---- */

static void test_resume(void **state)
{
	(void)state;
	enum { N = 150 };
	int64_t ts[N];
	uint64_t vs[N];
	for (int shape = 0; shape < 3; shape++) {
		for (size_t i = 0; i < N; i++) {
			ts[i] = 1700000000000LL + (int64_t)i * 15000 + (int64_t)(rnd() % 3);
			if (shape == 0)
				vs[i] = tob(5.0); /* no '11' window for a long time */
			else if (shape == 1)
				vs[i] = rnd();
			else
				vs[i] = i < 60 ? tob(5.0) : tob((double)(rnd() % 1000));
		}
		uint8_t ref[2 + N * TSDB_CHUNK_MAX_SAMPLE_BYTES];
		size_t ref_len = encode(ref, sizeof ref, ts, vs, N);
		for (size_t k = 0; k <= N; k += (k < 5 ? 1 : 7)) {
			uint8_t cbuf[sizeof ref];
			memset(cbuf, 0x55, sizeof cbuf);
			size_t len = encode(cbuf, sizeof cbuf, ts, vs, k);
			tsdb__chunk_app a;
			assert_int_equal(tsdb__chunk_app_resume(&a, cbuf, len, sizeof cbuf), 0);
			assert_int_equal(a.count, k);
			for (size_t i = k; i < N; i++)
				assert_int_equal(tsdb__chunk_app_append(&a, ts[i], fromb(vs[i])), 0);
			assert_int_equal(tsdb__chunk_app_len(&a), ref_len);
			assert_memory_equal(cbuf, ref, ref_len);
		}
	}

	/* resume rejects corrupt input and a wrong length */
	uint8_t cbuf[64];
	int64_t ts3[] = {1000, 16000, 31005};
	uint64_t vs3[] = {tob(1.0), tob(2.0), tob(3.0)};
	size_t len = encode(cbuf, sizeof cbuf, ts3, vs3, 3);
	tsdb__chunk_app a;
	assert_int_equal(tsdb__chunk_app_resume(&a, cbuf, len, sizeof cbuf), 0);
	assert_int_equal(tsdb__chunk_app_resume(&a, cbuf, len - 1, sizeof cbuf), -1);
	assert_int_equal(tsdb__chunk_app_resume(&a, cbuf, len + 1, sizeof cbuf), -1);
	assert_int_equal(tsdb__chunk_app_resume(&a, cbuf, 1, sizeof cbuf), -1);
	assert_int_equal(tsdb__chunk_app_resume(&a, cbuf, len, len - 1), -1);
	/* claims more samples than encoded (4 would still decode: the 2 padding bits read as a
	 * '0' dod and a '0' value, an ambiguity of the format itself) */
	cbuf[1] = 5;
	assert_int_equal(tsdb__chunk_app_resume(&a, cbuf, len, sizeof cbuf), -1);

	/* stray padding bits are cleared by the next append */
	cbuf[1] = 3;
	cbuf[len - 1] |= 0x03;
	assert_int_equal(tsdb__chunk_app_resume(&a, cbuf, len, sizeof cbuf), 0);
	assert_int_equal(tsdb__chunk_app_append(&a, 46005, 3.0), 0);
	int64_t ts4[] = {1000, 16000, 31005, 46005};
	uint64_t vs4[] = {tob(1.0), tob(2.0), tob(3.0), tob(3.0)};
	check_decode(cbuf, tsdb__chunk_app_len(&a), ts4, vs4, 4);
}

/* A chunk as Prometheus's appender writes it after being resumed on a 1-sample chunk: window
 * (0, 0) assumed, so the second value is '10' + 64 bits. The decoder must accept it. */
static void test_prometheus_resumed_form(void **state)
{
	(void)state;
	uint8_t cbuf[64];
	tsdb__chunk_app a;
	tsdb__chunk_app_init(&a, cbuf, sizeof cbuf);
	assert_int_equal(tsdb__chunk_app_append(&a, 100, 1.5), 0);
	a.leading = 0;
	a.trailing = 0;
	size_t b = a.nbits;
	assert_int_equal(tsdb__chunk_app_append(&a, 200, 2.5), 0);
	assert_int_equal(a.nbits - b, 8 + 2 + 64);
	assert_int_equal(tsdb__chunk_app_append(&a, 300, 2.75), 0);
	int64_t ts[] = {100, 200, 300};
	uint64_t vs[] = {tob(1.5), tob(2.5), tob(2.75)};
	check_decode(cbuf, tsdb__chunk_app_len(&a), ts, vs, 3);
	/* resuming it continues with window (0, 0) like Prometheus would */
	tsdb__chunk_app r;
	assert_int_equal(tsdb__chunk_app_resume(&r, cbuf, tsdb__chunk_app_len(&a), sizeof cbuf), 0);
	assert_int_equal(r.leading, a.leading);
	assert_int_equal(r.trailing, a.trailing);
}

/* ---- chunks written by Prometheus itself ----
 *
 * Produced by `promtool tsdb create-blocks-from openmetrics` (Prometheus 2.42.0) from series given
 * by the formulas in prom_expected() below, then cut out of the block's chunks/000001 file (chunk
 * data only, without Prometheus's len/encoding/CRC framing). Our decoder must read exactly those
 * samples, and our encoder must reproduce the bytes exactly. */
static const uint8_t prom_counter[158] = {
	0x00, 0x64, 0xc0, 0x85, 0xa9, 0xc4, 0x98, 0x68, 0x41, 0x2e, 0x84, 0x80, 0x00, 0x00, 0x00, 0x00,
	0x98, 0x75, 0xf8, 0x1f, 0x7b, 0x13, 0x5e, 0x84, 0xf4, 0xe8, 0xde, 0x46, 0xe5, 0x1e, 0x81, 0x4c,
	0x21, 0x04, 0x4b, 0xb9, 0x1f, 0xe8, 0x29, 0x0d, 0x20, 0x24, 0x1e, 0x8f, 0x50, 0x1a, 0x08, 0x40,
	0x82, 0x1b, 0x41, 0xa9, 0xe9, 0x05, 0x20, 0x24, 0x32, 0x82, 0xd0, 0x0a, 0x38, 0x40, 0x82, 0x09,
	0x40, 0x68, 0x59, 0x03, 0x3b, 0x11, 0xfe, 0xf6, 0x25, 0xa5, 0x7a, 0x17, 0xe9, 0x08, 0x83, 0xc8,
	0xdf, 0xa1, 0x52, 0xc8, 0x64, 0x73, 0xc0, 0xfe, 0x50, 0x74, 0x05, 0x08, 0x47, 0x04, 0x25, 0x07,
	0x4e, 0x90, 0xa4, 0x09, 0x17, 0x41, 0x50, 0x37, 0x71, 0x7e, 0xf6, 0x16, 0x3d, 0x0b, 0xb4, 0x54,
	0xa7, 0x91, 0x7a, 0x82, 0xf6, 0x24, 0xbd, 0x0b, 0xb4, 0x14, 0x87, 0x81, 0x7e, 0x3d, 0x89, 0x28,
	0xde, 0x84, 0xf4, 0xe8, 0xde, 0x46, 0xed, 0x1a, 0x87, 0x4c, 0x23, 0x04, 0x3b, 0xa1, 0x7f, 0xf5,
	0x00, 0xe4, 0x07, 0x90, 0x06, 0x40, 0x25, 0x03, 0xf4, 0x00, 0x50, 0x08, 0x40, 0x10,
};
static const uint8_t prom_gauge[942] = {
	0x00, 0x64, 0xc6, 0x83, 0xa9, 0xc4, 0x98, 0x68, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x92, 0x77, 0xc3, 0xec, 0x05, 0x3c, 0xc2, 0x8f, 0x5c, 0x28, 0xf5, 0xef, 0xa2, 0x75, 0xeb, 0xef,
	0xc8, 0xb2, 0x2c, 0x8b, 0x22, 0xd4, 0xff, 0x85, 0x61, 0x58, 0x56, 0x15, 0x88, 0x17, 0x7d, 0x3b,
	0x72, 0x0a, 0x7a, 0x9e, 0xa7, 0xa9, 0xeb, 0x7d, 0x13, 0x67, 0x3e, 0x43, 0x90, 0xe4, 0x39, 0x0e,
	0x82, 0x9a, 0x1c, 0x87, 0x21, 0xc8, 0x72, 0x81, 0x77, 0xd7, 0xae, 0x78, 0xb2, 0x2c, 0x8b, 0x22,
	0xc8, 0xef, 0xa2, 0x65, 0xf4, 0x59, 0x16, 0x45, 0x91, 0x64, 0xb4, 0xef, 0xa6, 0xa4, 0x29, 0x0a,
	0x42, 0x90, 0xbe, 0x05, 0xde, 0xff, 0x24, 0x39, 0x0e, 0x43, 0x90, 0xed, 0x7d, 0x13, 0x07, 0x3c,
	0x5b, 0x16, 0xc5, 0xb1, 0x6c, 0x46, 0x39, 0x85, 0x61, 0x58, 0x56, 0x14, 0xa0, 0x5d, 0xee, 0x8b,
	0x70, 0xdc, 0x37, 0x0d, 0xc3, 0x97, 0xd1, 0x31, 0xc2, 0x9b, 0xa6, 0xe9, 0xba, 0x6e, 0xa5, 0xd2,
	0x9e, 0x37, 0x8d, 0xe3, 0x78, 0xd2, 0x05, 0xde, 0x0a, 0x69, 0xd2, 0x74, 0x9d, 0x27, 0x4b, 0x7d,
	0x13, 0x17, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x5f, 0x9d, 0xbd, 0x6f, 0x5b, 0xd6, 0xf4, 0x60,
	0x5d, 0xe5, 0x63, 0x64, 0xd9, 0x36, 0x4d, 0x93, 0xb7, 0xd1, 0x34, 0x68, 0x39, 0x0e, 0x43, 0x90,
	0xe4, 0x24, 0x6e, 0x36, 0x2d, 0x8b, 0x62, 0xd8, 0xb2, 0x05, 0xde, 0x14, 0xd3, 0x64, 0xd9, 0x36,
	0x4d, 0x91, 0x7d, 0x13, 0x70, 0x49, 0xb2, 0x6c, 0x9b, 0x26, 0xc8, 0x61, 0xff, 0xfe, 0xa5, 0xa9,
	0xea, 0x7a, 0x9e, 0xa7, 0x9c, 0x0b, 0xbd, 0xfe, 0xc8, 0x6e, 0x14, 0x7a, 0xe1, 0x47, 0xb2, 0xfa,
	0x26, 0x00, 0x3d, 0x10, 0xa3, 0xd7, 0x0a, 0x3d, 0x70, 0x80, 0x07, 0x34, 0x79, 0x1e, 0x47, 0x91,
	0xe4, 0xc0, 0xbb, 0xc0, 0x1c, 0x90, 0x52, 0x14, 0x85, 0x21, 0x48, 0xef, 0xa2, 0x60, 0x0d, 0x2e,
	0x29, 0x0a, 0x42, 0x90, 0xa4, 0x68, 0x00, 0x56, 0x63, 0x78, 0xde, 0x37, 0x8d, 0xe4, 0x0b, 0xbc,
	0x00, 0x66, 0x74, 0x9d, 0x27, 0x49, 0xd2, 0x7e, 0xfa, 0x26, 0x00, 0x14, 0xf7, 0xad, 0xeb, 0x7a,
	0xde, 0xb0, 0x80, 0x35, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0xbb, 0xc0, 0x1f, 0x65, 0xd3,
	0x74, 0xdd, 0x37, 0x4d, 0xef, 0xa2, 0x60, 0x00, 0xde, 0x9d, 0x27, 0x49, 0xd2, 0x74, 0xe8, 0x00,
	0xc4, 0x10, 0xe4, 0x39, 0x0e, 0x43, 0xb4, 0x0b, 0xbc, 0x01, 0xdd, 0xb0, 0xac, 0x2b, 0x0a, 0xc2,
	0x92, 0xfa, 0x26, 0x00, 0x38, 0xee, 0x1b, 0x86, 0xe1, 0xb8, 0x72, 0x80, 0x3a, 0x35, 0x4f, 0x53,
	0xd4, 0xf5, 0x3d, 0xc0, 0xbb, 0xc0, 0x01, 0xbf, 0x16, 0xc5, 0xb1, 0x6c, 0x5b, 0x2f, 0xa2, 0x60,
	0x02, 0xf0, 0x6f, 0x1b, 0xc6, 0xf1, 0xbc, 0x68, 0x03, 0xf4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf4,
	0x0b, 0xbc, 0x00, 0xb5, 0x53, 0xd4, 0xf5, 0x3d, 0x4f, 0x56, 0xfa, 0x26, 0x00, 0x83, 0x72, 0x3c,
	0x8f, 0x23, 0xc8, 0xf2, 0x80, 0x0d, 0x68, 0xb6, 0x2d, 0x8b, 0x62, 0xd8, 0xc0, 0xbb, 0xc0, 0x02,
	0xa6, 0x37, 0x8d, 0xe3, 0x78, 0xde, 0x6f, 0xa2, 0x60, 0x0e, 0x16, 0x15, 0x85, 0x61, 0x58, 0x56,
	0x2b, 0xfe, 0x20, 0x2c, 0x8b, 0x22, 0xc8, 0xb2, 0x14, 0x0b, 0xbd, 0xfe, 0x97, 0xe1, 0x48, 0x52,
	0x14, 0x85, 0x22, 0xfa, 0x26, 0x00, 0x33, 0xa7, 0xae, 0x14, 0x7a, 0xe1, 0x48, 0x80, 0x07, 0x4c,
	0x28, 0xf5, 0xc2, 0x8f, 0x5c, 0x40, 0xbb, 0xc0, 0x1c, 0xae, 0x45, 0x91, 0x64, 0x59, 0x16, 0x6f,
	0xa2, 0x60, 0x0d, 0x34, 0xa7, 0xa9, 0xea, 0x7a, 0x9e, 0xa8, 0x00, 0x5a, 0xa6, 0xc9, 0xb2, 0x6c,
	0x9b, 0x2c, 0x0b, 0xbc, 0x00, 0x62, 0xa4, 0xe9, 0x3a, 0x4e, 0x93, 0xae, 0xfa, 0x26, 0x00, 0x15,
	0xd0, 0xe4, 0x39, 0x0e, 0x43, 0x90, 0x80, 0x35, 0x7c, 0x8f, 0x23, 0xc8, 0xf2, 0x3d, 0xc0, 0xbb,
	0xc0, 0x1f, 0x3a, 0x6c, 0x9b, 0x26, 0xc9, 0xb2, 0x2f, 0xa2, 0x60, 0x00, 0xa9, 0x86, 0xe1, 0xb8,
	0x6e, 0x1b, 0x88, 0x00, 0xdd, 0xf2, 0x1c, 0x87, 0x21, 0xc8, 0x74, 0x0b, 0xbc, 0x01, 0xdc, 0x90,
	0xe4, 0x39, 0x0e, 0x43, 0x92, 0xfa, 0x26, 0x00, 0x3a, 0x30, 0xac, 0x2b, 0x0a, 0xc2, 0xb0, 0x80,
	0x3a, 0xd8, 0xa4, 0x29, 0x0a, 0x42, 0x90, 0xc0, 0xbb, 0xc0, 0x01, 0xcd, 0x0a, 0x42, 0x90, 0xa4,
	0x29, 0x2f, 0xa2, 0x60, 0x02, 0xd4, 0xde, 0x37, 0x8d, 0xe3, 0x78, 0xe8, 0x03, 0xe9, 0x37, 0x8d,
	0xe3, 0x78, 0xde, 0x3c, 0x0b, 0xbc, 0x00, 0xb1, 0x86, 0xe1, 0xb8, 0x6e, 0x1b, 0x9a, 0xfa, 0x26,
	0x00, 0x87, 0xa2, 0xc8, 0xb2, 0x2c, 0x8b, 0x2e, 0x80, 0x02, 0x9e, 0xf5, 0xbd, 0x6f, 0x5b, 0xd6,
	0x40, 0xbb, 0xc0, 0x05, 0x68, 0x5b, 0x16, 0xc5, 0xb1, 0x6c, 0x6f, 0xa2, 0x60, 0x0e, 0x7b, 0x62,
	0xd8, 0xb6, 0x2d, 0x8b, 0x6b, 0xfe, 0x64, 0xe1, 0xb8, 0x6e, 0x1b, 0x86, 0xe4, 0x0b, 0xbd, 0xfe,
	0xbb, 0x5b, 0xa6, 0xe9, 0xba, 0x6e, 0xa6, 0xfa, 0x26, 0x00, 0x34, 0x60, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x80, 0x06, 0xd3, 0xd7, 0x0a, 0x3d, 0x70, 0xa4, 0x40, 0xbb, 0xc0, 0x1c, 0x74, 0x28, 0xf5,
	0xc2, 0x8f, 0x5c, 0x6f, 0xa2, 0x60, 0x0d, 0x43, 0x1e, 0x47, 0x91, 0xe4, 0x79, 0x28, 0x00, 0x5a,
	0xe1, 0x58, 0x56, 0x15, 0x85, 0x64, 0x0b, 0xbc, 0x00, 0x7c, 0xd4, 0xf5, 0x3d, 0x4f, 0x53, 0xd6,
	0xfa, 0x26, 0x00, 0x1b, 0x31, 0xbc, 0x6f, 0x1b, 0xc6, 0xf6, 0x80, 0x36, 0xaf, 0x1b, 0xc6, 0xf1,
	0xbc, 0x69, 0x40, 0xbb, 0xc0, 0x1e, 0xe8, 0xac, 0x2b, 0x0a, 0xc2, 0xb3, 0x6f, 0xa2, 0x60, 0x00,
	0xaa, 0x8b, 0x22, 0xc8, 0xb2, 0x2c, 0x88, 0x00, 0xde, 0x5d, 0x37, 0x4d, 0xd3, 0x74, 0xd4, 0x0b,
	0xbc, 0x01, 0xdb, 0x72, 0x1c, 0x87, 0x21, 0xc8, 0x76, 0xfa, 0x26, 0x00, 0x37, 0x10, 0xe4, 0x39,
	0x0e, 0x43, 0x90, 0x80, 0x39, 0x67, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x40, 0xbb, 0xc0, 0x01, 0xd3,
	0xff, 0xff, 0xff, 0xff, 0xff, 0x2f, 0xa2, 0x60, 0x02, 0xdb, 0x4d, 0xd3, 0x74, 0xdd, 0x37, 0x48,
	0x03, 0xe7, 0x6f, 0x1b, 0xc6, 0xf1, 0xbc, 0x74, 0x0b, 0xbc, 0x00, 0x88, 0xc5, 0xb1, 0x6c, 0x5b,
	0x16, 0xce, 0xfa, 0x26, 0x00, 0x98, 0xec, 0x9b, 0x26, 0xc9, 0xb2, 0x6c, 0x80, 0x02, 0xba, 0x2c,
	0x8b, 0x22, 0xc8, 0xb2, 0x40, 0xbb, 0xc0, 0x05, 0x71, 0x3d, 0x4f, 0x53, 0xd4, 0xf5, 0x6f, 0xa2,
	0x60, 0x0e, 0x5c, 0x5b, 0x16, 0xc5, 0xb1, 0x6c, 0x68, 0x01, 0xb7, 0x3a, 0x4e, 0x93, 0xa4, 0xe9,
	0x0c, 0x0b, 0xbc, 0x01, 0x56, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfa, 0x26, 0x00, 0x34, 0x29,
	0xb2, 0x6c, 0x9b, 0x26, 0xc6, 0x80, 0x06, 0xd4, 0x79, 0x1e, 0x47, 0x91, 0xe3, 0x80,
};
static const uint8_t prom_special[611] = {
	0x00, 0x3c, 0xc0, 0x85, 0xa9, 0xc4, 0x98, 0x68, 0x7f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x7d, 0xd9, 0xa4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe1, 0xd0, 0xde, 0x00, 0x6c, 0x25, 0xff,
	0xf9, 0xfb, 0xdc, 0x00, 0xe8, 0x10, 0xf9, 0xdb, 0x26, 0x88, 0xb7, 0x0e, 0x62, 0xba, 0x04, 0x3a,
	0x4d, 0x11, 0x6e, 0x1c, 0xc5, 0x5c, 0x26, 0x25, 0xb8, 0x7e, 0xff, 0xdf, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xbb, 0xba, 0x43, 0x00, 0x17, 0xfd, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb, 0x8c,
	0xc5, 0x40, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61, 0xcc, 0xf3, 0xc0, 0x00, 0x00, 0x00,
	0x00, 0x02, 0x00, 0x15, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xef, 0xff, 0x53, 0x1f, 0xf8, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x49, 0x3e, 0x04, 0x00, 0x10,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xd4, 0x32, 0x14, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xfa, 0x04, 0xff, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0xc3, 0x63, 0x31, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x77, 0x32, 0xec, 0x40,
	0x00, 0x02, 0x4d, 0x11, 0x6e, 0x1c, 0xc5, 0x7b, 0x8b, 0xcb, 0x00, 0x00, 0x09, 0x34, 0x45, 0xb8,
	0x73, 0x15, 0x61, 0xd0, 0xdc, 0xff, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, 0xaf, 0xfa, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xe7, 0xef, 0x68, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a,
	0x04, 0x35, 0x02, 0x1b, 0x84, 0xc4, 0xb6, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xee,
	0xee, 0x90, 0x80, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x77, 0x19, 0x8a, 0x80, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0xc3, 0x99, 0xe9, 0xff, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
	0xc0, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x15, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf7, 0xff, 0xa9, 0x80, 0x00, 0x04, 0x9a, 0x22, 0xdc, 0x39,
	0x8a, 0xfc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x9f, 0x02, 0x00, 0x00, 0x12, 0x68, 0x8b, 0x70,
	0xe6, 0x2a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x6a, 0x19, 0x09, 0xff, 0xbf, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xfa, 0x7d, 0x02, 0xbf, 0xeb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe1, 0xb1, 0x98,
	0xa0, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3b, 0x99, 0x76, 0x1b, 0x8b, 0xca, 0xc3, 0xa1,
	0xb8, 0xff, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0xcf, 0xde, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x08, 0x73, 0xff, 0x80,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0xc2, 0x62, 0x5b, 0x00, 0x00, 0x09, 0x34, 0x45, 0xb8, 0x73, 0x15, 0xf7, 0x77, 0x48, 0x40, 0x00,
	0x02, 0x4d, 0x11, 0x6e, 0x1c, 0xc5, 0x5b, 0x8c, 0xc5, 0x3f, 0xf7, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0x61, 0xcc, 0xf5, 0x7f, 0xd7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe0, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x00, 0x0a, 0xf4, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xfb, 0xff, 0xd4, 0xbc, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x9f, 0x01, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xfe, 0xd4, 0x32, 0x11, 0xff, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0xfa,
	0x04, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xc3, 0x63, 0x31, 0x40, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x77, 0x32, 0xec, 0x4f, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b,
	0x8b, 0xcb, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61, 0xd0, 0xdc, 0x00, 0x00, 0x24,
	0xd1, 0x16, 0xe1, 0xcc, 0x56, 0x80, 0x00, 0x04, 0x9a, 0x22, 0xdc, 0x39, 0x8a, 0xa7, 0xef, 0x67,
	0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xea, 0x04, 0x3a, 0xff, 0xaf, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xfe, 0x81, 0x0e, 0x80, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe1, 0x31, 0x2d, 0x77,
	0x77, 0x48, 0x00,
};

enum { PROM_COUNTER, PROM_GAUGE, PROM_SPECIAL };
#define PROM_BASE 1789999260000LL

/* The samples fed to promtool; returns the count. */
static size_t prom_expected(int which, int64_t *ts, uint64_t *vs)
{
	static const int64_t gaps[] = {125,   15000, 15000,  23125, 15000, 6875,  85000, 15000, 250,
				       15000, 539375, 15000, 615000, 1000,  9000,  120000, 15000};
	const uint64_t specials[] = {
		0x7ff8000000000001ULL, /* Go's math.NaN(), what Prometheus parses "NaN" to */
		tob(INFINITY),	 tob(-INFINITY), tob(-0.0), tob(0.0), tob(1e-310), tob(4.9e-324),
		tob(DBL_MAX),	 tob(-2.5),	 tob(3),    tob(3),   tob(3)};
	double c = 1e6;
	int64_t t = PROM_BASE;
	size_t n = which == PROM_SPECIAL ? 60 : 100;
	for (size_t i = 0; i < n; i++) {
		switch (which) {
		case PROM_COUNTER:
			c += (double)((i * 7) % 11);
			ts[i] = PROM_BASE + 15000 * (int64_t)i;
			vs[i] = tob(c);
			break;
		case PROM_GAUGE:
			ts[i] = PROM_BASE + 15000 * (int64_t)i + 125 * ((int64_t)((i * 5) % 3) - 1);
			vs[i] = tob((double)((i * 7919) % 10000) / 100.0);
			break;
		default:
			ts[i] = t;
			vs[i] = specials[i % 12];
			t += gaps[i % 17];
		}
	}
	return n;
}

static void test_prometheus_chunks(void **state)
{
	(void)state;
	const struct {
		const uint8_t *data;
		size_t len;
	} chunks[] = {{prom_counter, sizeof prom_counter},
		      {prom_gauge, sizeof prom_gauge},
		      {prom_special, sizeof prom_special}};
	int64_t ts[101];
	uint64_t vs[101];
	for (int w = 0; w < 3; w++) {
		size_t n = prom_expected(w, ts, vs);
		check_decode(chunks[w].data, chunks[w].len, ts, vs, n);
		uint8_t cbuf[2 + 100 * TSDB_CHUNK_MAX_SAMPLE_BYTES];
		size_t len = encode(cbuf, sizeof cbuf, ts, vs, n);
		assert_int_equal(len, chunks[w].len);
		assert_memory_equal(cbuf, chunks[w].data, len);
		/* resume on Prometheus's bytes and continue: same as one-shot */
		uint8_t copy[sizeof cbuf];
		memcpy(copy, chunks[w].data, len);
		tsdb__chunk_app a;
		assert_int_equal(tsdb__chunk_app_resume(&a, copy, len, sizeof copy), 0);
		assert_int_equal(tsdb__chunk_app_append(&a, ts[n - 1] + 15000, 7.0), 0);
		ts[n] = ts[n - 1] + 15000;
		vs[n] = tob(7.0);
		check_decode(copy, tsdb__chunk_app_len(&a), ts, vs, n + 1);
	}

	/* A 1-sample chunk as Prometheus stores it: its writer leaves an extra zero byte after a
	 * byte-aligned whole-byte write (observed: 17 bytes where 16 suffice). */
	uint8_t one[32];
	int64_t t1[] = {PROM_BASE, PROM_BASE + 15000};
	uint64_t v1[] = {tob(1.5), tob(1.5)};
	size_t len = encode(one, sizeof one, t1, v1, 1);
	assert_int_equal(len, 16);
	one[16] = 0;
	check_decode(one, 17, t1, v1, 1);
	tsdb__chunk_app a;
	assert_int_equal(tsdb__chunk_app_resume(&a, one, 17, sizeof one), 0);
	assert_int_equal(tsdb__chunk_app_len(&a), 16);
	assert_int_equal(tsdb__chunk_app_append(&a, t1[1], 1.5), 0);
	check_decode(one, tsdb__chunk_app_len(&a), t1, v1, 2);
	/* but not a non-zero byte, nor two extra bytes */
	encode(one, sizeof one, t1, v1, 1);
	one[16] = 1;
	assert_int_equal(tsdb__chunk_app_resume(&a, one, 17, sizeof one), -1);
	one[16] = 0;
	one[17] = 0;
	assert_int_equal(tsdb__chunk_app_resume(&a, one, 18, sizeof one), -1);
}

/* ---- corrupt and truncated input never reads out of bounds ---- */

/* Every decoder on possibly corrupt bytes: they must agree, never read outside them (ASan) and
 * stop at the header count or with the error flag. */
static size_t drain(const uint8_t *cbuf, size_t len, bool *err)
{
	size_t n = check_decoders(cbuf, len, err);
	assert_true(n <= tsdb__chunk_count(cbuf, len));
	assert_true(*err || n == tsdb__chunk_count(cbuf, len));
	return n;
}

static void test_corrupt(void **state)
{
	(void)state;
	enum { N = 120 };
	int64_t ts[N];
	uint64_t vs[N];
	for (size_t i = 0; i < N; i++) {
		ts[i] = (int64_t)i * 15000 + (int64_t)(rnd() % 100);
		vs[i] = (i % 2) ? rnd() : tob((double)i);
	}
	uint8_t cbuf[2 + N * TSDB_CHUNK_MAX_SAMPLE_BYTES];
	size_t len = encode(cbuf, sizeof cbuf, ts, vs, N);
	bool err;

	/* every truncation: a correct prefix, then an error */
	for (size_t l = 0; l < len; l++) {
		uint8_t *copy = malloc(l ? l : 1);
		assert_non_null(copy);
		memcpy(copy, cbuf, l);
		tsdb__chunk_it it;
		tsdb__chunk_it_init(&it, copy, l);
		int64_t t;
		double v;
		size_t n = 0;
		while (tsdb__chunk_it_next(&it, &t, &v)) {
			assert_int_equal(t, ts[n]);
			assert_int_equal(tob(v), vs[n]);
			n++;
		}
		assert_true(it.err);
		assert_true(n < N);
		free(copy);
	}
	assert_int_equal(drain(cbuf, len, &err), N);
	assert_false(err);

	/* random bit flips and byte garbage: no crash, no overread (ASan build), bounded output */
	uint8_t mut[sizeof cbuf];
	for (int round = 0; round < 3000; round++) {
		memcpy(mut, cbuf, len);
		int flips = 1 + (int)(rnd() % 4);
		for (int f = 0; f < flips; f++)
			mut[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
		(void)drain(mut, len, &err);
	}
	for (int round = 0; round < 3000; round++) {
		size_t l = rnd() % 64;
		for (size_t i = 0; i < l; i++)
			mut[i] = (uint8_t)rnd();
		if (l >= 2 && (round & 1))
			mut[0] = 0; /* small counts more often */
		(void)drain(mut, l, &err);
	}

	/* specific corruptions */
	uint8_t empty[2] = {0, 0};
	assert_int_equal(drain(empty, 2, &err), 0);
	assert_false(err);
	assert_int_equal(drain(empty, 1, &err), 0);
	assert_true(err);
	assert_int_equal(tsdb__chunk_count(empty, 1), 0);
	/* overlong varint: 11 continuation bytes */
	uint8_t ov[32] = {0, 1};
	memset(ov + 2, 0xff, 11);
	assert_int_equal(drain(ov, sizeof ov, &err), 0);
	assert_true(err);
	/* tenth varint byte > 1 overflows */
	memset(ov + 2, 0x80, 9);
	ov[11] = 0x02;
	assert_int_equal(drain(ov, sizeof ov, &err), 0);
	assert_true(err);
	/* '11' window with L' + M > 64: L'=31, M=40 */
	uint8_t bad[] = {0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
			 /* 11 11111 101000 then zeros */ 0xFF, 0xD0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(drain(bad, sizeof bad, &err), 1);
	assert_true(err);
}

/* ---- all decoders on random and adversarial series ---- */

static const uint64_t special_values[] = {
	STALE_BITS,
	0x7ff8000000000000ULL, /* quiet NaN */
	0xfff8000000000001ULL, /* negative NaN with payload */
	0x7ff0000000000001ULL, /* signalling NaN */
	0x7ff0000000000000ULL, /* +Inf */
	0xfff0000000000000ULL, /* -Inf */
	0x0000000000000000ULL, /* +0.0 */
	0x8000000000000000ULL, /* -0.0 */
	0x0000000000000001ULL, /* smallest denormal */
	0x7fefffffffffffffULL, /* DBL_MAX */
	0xffffffffffffffffULL,
	0x3ff0000000000000ULL, /* 1.0 */
};

/* Next value: a mix of every value-encoding case. */
static uint64_t next_value(uint64_t prev)
{
	switch (rnd() % 9) {
	case 0:
		return prev; /* '0' */
	case 1:
		return special_values[rnd() % (sizeof special_values / sizeof special_values[0])];
	case 2:
		return prev ^ 0x8000000000000001ULL; /* XOR needs all 64 bits: L 0, T 0, M 64 (written 0) */
	case 3:
		return prev ^ (1 + rnd() % 0xffff); /* clz >= 32: stored as L' = 31 */
	case 4:
		return prev ^ (rnd() >> (rnd() % 64)); /* any width */
	case 5:
		return rnd();
	case 6: {
		double d;
		memcpy(&d, &prev, sizeof d);
		d = isfinite(d) ? d + (double)(rnd() % 11) : 1e6; /* counter-like: reuses the window */
		return tob(d);
	}
	case 7:
		return prev ^ ((rnd() & 0xff) << 20); /* narrow window in the middle */
	default:
		return tob((double)(rnd() % 10000) / 100.0); /* decimal gauge */
	}
}

/* Next timestamp: a delta of delta in a random bucket, its edges included. */
static int64_t next_ts(int64_t t, int64_t *delta)
{
	static const int64_t edges[] = {0,       1,       -1,       8192,    -8191,   -8192,
					8193,    65536,   -65535,   -65536,  65537,   524288,
					-524287, -524288, 524289,   INT64_MAX, INT64_MIN, (int64_t)1 << 40};
	int64_t dod;
	switch (rnd() % 6) {
	case 0:
		dod = 0;
		break;
	case 1:
		dod = edges[rnd() % (sizeof edges / sizeof edges[0])];
		break;
	case 2:
		dod = (int64_t)(rnd() % 16384) - 8191;
		break;
	case 3:
		dod = (int64_t)(rnd() % 1048576) - 524287;
		break;
	case 4:
		dod = (int64_t)rnd(); /* 64-bit escape, deltas of any sign */
		break;
	default:
		dod = (int64_t)(rnd() % 11) - 5;
	}
	*delta = (int64_t)((uint64_t)*delta + (uint64_t)dod);
	return (int64_t)((uint64_t)t + (uint64_t)*delta);
}

static void test_decoders_random(void **state)
{
	(void)state;
	enum { N = 700 };
	int64_t ts[N];
	uint64_t vs[N];
	uint8_t *cbuf = malloc(2 + N * TSDB_CHUNK_MAX_SAMPLE_BYTES);
	assert_non_null(cbuf);
	for (int round = 0; round < 400; round++) {
		/* lengths 1, 2, 3 and up; biased towards short chunks and the 120 target */
		size_t n;
		switch (round % 5) {
		case 0:
			n = 1 + (size_t)round % 3;
			break;
		case 1:
			n = TSDB_CHUNK_TARGET_SAMPLES;
			break;
		default:
			n = 1 + rnd() % N;
		}
		/* per round: regular, jittered or wild timestamps */
		int mode = (int)(rnd() % 3);
		int64_t t = (int64_t)rnd(), delta = (int64_t)(rnd() % 100000);
		uint64_t v = rnd();
		for (size_t i = 0; i < n; i++) {
			ts[i] = t;
			vs[i] = v;
			if (mode == 0) {
				t = (int64_t)((uint64_t)t + 15000);
			} else if (mode == 1) {
				t = (int64_t)((uint64_t)t + 15000 + rnd() % 7);
			} else {
				t = next_ts(t, &delta);
			}
			v = next_value(v);
		}
		size_t len = encode(cbuf, 2 + N * TSDB_CHUNK_MAX_SAMPLE_BYTES, ts, vs, n);
		check_decode(cbuf, len, ts, vs, n);

		/* truncations and bit flips of the same chunk (a few per round: ASan makes them slow) */
		bool err;
		for (int k = 0; k < 4; k++) {
			size_t l = rnd() % len;
			assert_true(drain(cbuf, l, &err) < n || n == 0);
			assert_true(err);
		}
		uint8_t *mut = malloc(len);
		assert_non_null(mut);
		for (int k = 0; k < 4; k++) {
			memcpy(mut, cbuf, len);
			mut[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
			(void)drain(mut, len, &err);
		}
		free(mut);
	}
	free(cbuf);
}

/* ---- checkpoints: the appender's recorded state decodes the rest of the chunk ---- */

/* Decodes the samples after a's checkpoint from an exactly-sized copy of the chunk's tail bytes
 * and compares them (whole range and windows) with the expected samples. */
static void check_ck(const tsdb__chunk_app *a, const int64_t *ts, const uint64_t *vs)
{
	const tsdb__chunk_ck *ck = &a->ck;
	size_t len = tsdb__chunk_app_len(a);
	assert_int_equal(ck->count, a->count / TSDB_CHUNK_CK_EVERY * TSDB_CHUNK_CK_EVERY);
	if (!ck->count)
		return;
	assert_int_equal(ck->t, ts[ck->count - 1]);
	assert_int_equal(ck->v_bits, vs[ck->count - 1]);
	size_t from = ck->pos / 8, tl = len - from, left = a->count - ck->count;
	uint8_t *tail = malloc(tl ? tl : 1);
	tsdb_sample *out = malloc((left ? left : 1) * sizeof *out);
	assert_true(tail && out);
	memcpy(tail, a->data + from, tl);
	bool err = true;
	assert_int_equal(tsdb__chunk_decode_ck(tail, tl, ck, a->count, INT64_MIN, INT64_MAX, out, &err), left);
	assert_false(err);
	for (size_t i = 0; i < left; i++) {
		assert_int_equal(out[i].t, ts[ck->count + i]);
		assert_int_equal(tob(out[i].v), vs[ck->count + i]);
	}
	if (left) {
		/* a window starting inside the tail */
		size_t k = ck->count + rnd() % left;
		int64_t mint = ts[k], maxt = ts[k + (a->count - 1 - k) / 2];
		size_t want = 0;
		for (size_t i = ck->count; i < a->count; i++) {
			if (ts[i] < mint)
				continue;
			if (ts[i] > maxt)
				break;
			want++;
		}
		size_t got = tsdb__chunk_decode_ck(tail, tl, ck, a->count, mint, maxt, out, &err);
		assert_int_equal(got, want);
		assert_false(err);
		if (got) {
			assert_true(out[0].t >= mint);
			assert_true(out[got - 1].t <= maxt);
		}
	}
	/* the count must not exceed the chunk's, and 0 is no checkpoint */
	tsdb__chunk_ck bad = *ck;
	bad.count = 0;
	assert_int_equal(tsdb__chunk_decode_ck(tail, tl, &bad, a->count, INT64_MIN, INT64_MAX, out, &err), 0);
	assert_true(err);
	bad = *ck;
	assert_int_equal(tsdb__chunk_decode_ck(tail, tl, &bad, ck->count - 1u, INT64_MIN, INT64_MAX, out, &err), 0);
	assert_true(err);
	/* truncating the tail fails safely (exact-size copy: ASan sees any overread) */
	if (tl > 1) {
		size_t cut = rnd() % tl;
		uint8_t *shortened = malloc(cut ? cut : 1);
		assert_non_null(shortened);
		memcpy(shortened, tail, cut);
		size_t got = tsdb__chunk_decode_ck(shortened, cut, ck, a->count, INT64_MIN, INT64_MAX, out, &err);
		assert_true(got < left || left == 0);
		assert_true(err || left == 0);
		free(shortened);
	}
	free(tail);
	free(out);
}

static void test_checkpoint(void **state)
{
	(void)state;
	enum { N = 400 };
	int64_t ts[N];
	uint64_t vs[N];
	size_t cap = 2 + N * TSDB_CHUNK_MAX_SAMPLE_BYTES;
	uint8_t *cbuf = malloc(cap), *copy = malloc(cap);
	assert_true(cbuf && copy);
	for (int round = 0; round < 60; round++) {
		size_t n = 1 + rnd() % N;
		int64_t t = (int64_t)rnd(), delta = 15000;
		uint64_t v = rnd();
		bool wild = round % 3 == 0;
		tsdb__chunk_app a;
		tsdb__chunk_app_init(&a, cbuf, cap);
		for (size_t i = 0; i < n; i++) {
			ts[i] = t;
			vs[i] = v;
			assert_int_equal(tsdb__chunk_app_append(&a, t, fromb(v)), 0);
			if (i % 7 == 0 || (i + 1) % TSDB_CHUNK_CK_EVERY == 0 || (i + 1) % TSDB_CHUNK_CK_EVERY == 1)
				check_ck(&a, ts, vs);
			t = wild ? next_ts(t, &delta) : (int64_t)((uint64_t)t + 15000 + rnd() % 5);
			v = next_value(v);
		}
		check_ck(&a, ts, vs);
		/* resume rebuilds the same checkpoint a one-shot appender has */
		size_t len = tsdb__chunk_app_len(&a);
		memcpy(copy, cbuf, len);
		tsdb__chunk_app b;
		assert_int_equal(tsdb__chunk_app_resume(&b, copy, len, cap), 0);
		assert_int_equal(b.ck.count, a.ck.count);
		assert_int_equal(b.ck.pos, a.ck.pos);
		assert_int_equal(b.ck.t, a.ck.t);
		assert_int_equal(b.ck.t_delta, a.ck.t_delta);
		assert_int_equal(b.ck.v_bits, a.ck.v_bits);
		assert_int_equal(b.ck.leading, a.ck.leading);
		assert_int_equal(b.ck.trailing, a.ck.trailing);
	}
	free(cbuf);
	free(copy);
}

/* ---- sizes for typical data (informational; numbers go to docs/format/chunk.md) ---- */

static double bytes_per_sample(int shape)
{
	enum { N = TSDB_CHUNK_TARGET_SAMPLES, CHUNKS = 200 };
	uint8_t cbuf[2 + N * TSDB_CHUNK_MAX_SAMPLE_BYTES];
	int64_t ts[N];
	uint64_t vs[N];
	size_t total = 0;
	double counter = 1e6;
	for (int c = 0; c < CHUNKS; c++) {
		for (size_t i = 0; i < N; i++) {
			int64_t base = 1790000000000LL + ((int64_t)c * N + (int64_t)i) * 15000;
			ts[i] = shape == 3 ? base + (int64_t)(rnd() % 11) - 5 : base;
			switch (shape) {
			case 0:
				vs[i] = tob(42.0);
				break;
			case 1:
				counter += (double)(rnd() % 11);
				vs[i] = tob(counter);
				break;
			default:
				vs[i] = tob((double)(rnd() % 10000) / 100.0);
			}
		}
		size_t len = encode(cbuf, sizeof cbuf, ts, vs, N);
		check_decode(cbuf, len, ts, vs, N);
		total += len;
	}
	return (double)total / (CHUNKS * N);
}

static void test_sizes(void **state)
{
	(void)state;
	double constant = bytes_per_sample(0);
	double counter = bytes_per_sample(1);
	double gauge = bytes_per_sample(2);
	double jitter = bytes_per_sample(3);
	printf("chunk bytes/sample (120-sample chunks, 15s scrape): constant %.2f, counter +0..10 %.2f, "
	       "gauge 2-decimal %.2f, gauge with 5ms jitter %.2f\n",
	       constant, counter, gauge, jitter);
	/* sanity bounds, loose: compression must actually happen */
	assert_true(constant < 0.5);
	assert_true(counter < 2.5);
	assert_true(gauge < 10.0);
	assert_true(constant < counter && counter < gauge && gauge < jitter);
}

/* Decode speed (informational). */
static void test_decode_speed(void **state)
{
	(void)state;
	enum { N = TSDB_CHUNK_TARGET_SAMPLES };
	uint8_t cbuf[2 + N * TSDB_CHUNK_MAX_SAMPLE_BYTES];
	int64_t ts[N];
	uint64_t vs[N];
	double counter = 0;
	for (size_t i = 0; i < N; i++) {
		ts[i] = 1790000000000LL + (int64_t)i * 15000 + (int64_t)(rnd() % 3);
		counter += (double)(rnd() % 11);
		vs[i] = tob(counter);
	}
	size_t len = encode(cbuf, sizeof cbuf, ts, vs, N);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	uint64_t sink = 0;
	size_t samples = 0;
	for (int r = 0; r < 20000; r++) {
		tsdb__chunk_it it;
		tsdb__chunk_it_init(&it, cbuf, len);
		int64_t t;
		double v;
		while (tsdb__chunk_it_next(&it, &t, &v)) {
			sink += (uint64_t)t ^ tob(v);
			samples++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("chunk decode (iterator): %zu samples in %.3fs = %.1fM samples/s, %.2f ns/sample (sink %llx)\n",
	       samples, secs, (double)samples / secs / 1e6, secs * 1e9 / (double)samples,
	       (unsigned long long)(sink & 0xf));
	assert_int_equal(samples, (size_t)20000 * N);

	tsdb_sample out[N];
	size_t bulk = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int r = 0; r < 20000; r++) {
		bool err;
		size_t got = tsdb__chunk_decode(cbuf, len, INT64_MIN, INT64_MAX, out, &err);
		sink += (uint64_t)out[r % N].t ^ tob(out[(r * 7) % N].v);
		bulk += got;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("chunk decode (tsdb__chunk_decode): %zu samples in %.3fs = %.1fM samples/s, %.2f ns/sample "
	       "(sink %llx)\n",
	       bulk, secs, (double)bulk / secs / 1e6, secs * 1e9 / (double)bulk, (unsigned long long)(sink & 0xf));
	assert_int_equal(bulk, (size_t)20000 * N);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_example),
		cmocka_unit_test(test_golden_reuse),
		cmocka_unit_test(test_dod_buckets),
		cmocka_unit_test(test_value_costs),
		cmocka_unit_test(test_adversarial_values),
		cmocka_unit_test(test_adversarial_timestamps),
		cmocka_unit_test(test_random_roundtrip),
		cmocka_unit_test(test_full_chunk),
		cmocka_unit_test(test_buffer_too_small),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_prometheus_resumed_form),
		cmocka_unit_test(test_prometheus_chunks),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_decoders_random),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_decode_speed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
