/*
 * fuzz_chunk.c — libFuzzer target for tsdb/chunk.c (the XOR codec).
 *
 * 1. The raw input is handed to the iterator as an encoded chunk: it must never crash or read
 *    outside the input (ASan), and must stop at the header count or with it->err.
 * 2. Differential round trip: the input is read as a sequence of samples, each one control byte
 *    then a payload (see next_sample); the samples are encoded through an appender whose buffer
 *    starts tiny and is grown on every -1 (which must leave buffer and state untouched), then
 *    decoded and compared bit for bit with the sequence. A second encoding resumes at a split
 *    point taken from the input and must produce the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/chunk.h"

#define MAX_SAMPLES 2000

#define CHECK(c)                                                                                        \
	do {                                                                                            \
		if (!(c))                                                                               \
			__builtin_trap();                                                               \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct reader {
	const uint8_t *p;
	size_t n;
} reader;

static uint64_t take(reader *r, size_t k)
{
	uint64_t u = 0;
	for (size_t i = 0; i < k; i++) {
		u <<= 8;
		if (r->n) {
			u |= *r->p++;
			r->n--;
		}
	}
	return u;
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

/* control byte: bits 0-1 timestamp delta width (1, 2, 4 or 8 bytes, sign-extended),
 *               bits 2-3 value: 0 same as previous, 1 previous ^ (byte << (bits 4-7 * 4)),
 *               2 raw 8 bytes, 3 small integer from one byte. */
static bool next_sample(reader *r, int64_t *t, uint64_t *v)
{
	if (r->n == 0)
		return false;
	unsigned c = (unsigned)take(r, 1);
	static const unsigned widths[] = {1, 2, 4, 8};
	unsigned w = widths[c & 3];
	uint64_t d = take(r, w);
	if (w < 8 && (d >> (8 * w - 1)) & 1)
		d |= ~0ULL << (8 * w); /* sign-extend */
	*t = (int64_t)((uint64_t)*t + d);
	switch ((c >> 2) & 3) {
	case 0:
		break;
	case 1:
		*v ^= take(r, 1) << ((c >> 4) * 4);
		break;
	case 2:
		*v = take(r, 8);
		break;
	default:
		*v = tob((double)take(r, 1));
	}
	return true;
}

static void drain_raw(const uint8_t *data, size_t size)
{
	tsdb__chunk_it it;
	int64_t t;
	double v;
	size_t n = 0;
	tsdb__chunk_it_init(&it, data, size);
	while (tsdb__chunk_it_next(&it, &t, &v))
		n++;
	CHECK(it.pos <= size * 8);
	CHECK(n <= tsdb__chunk_count(data, size));
	CHECK(it.err || n == tsdb__chunk_count(data, size));
	CHECK(!tsdb__chunk_it_next(&it, &t, &v));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int64_t ts[MAX_SAMPLES];
	static uint64_t vs[MAX_SAMPLES];
	static uint8_t before[2 + 64 + MAX_SAMPLES * TSDB_CHUNK_MAX_SAMPLE_BYTES];
	uint8_t *buf = NULL, *ref = NULL;

	drain_raw(data, size);

	reader r = {data, size};
	size_t split = (size_t)take(&r, 1);
	int64_t t = 0;
	uint64_t v = 0;
	size_t n = 0;
	while (n < MAX_SAMPLES && next_sample(&r, &t, &v)) {
		ts[n] = t;
		vs[n] = v;
		n++;
	}

	/* encode through a growing buffer */
	size_t cap = 2 + (split & 7); /* grows to at most need + 3, within sizeof before */
	buf = malloc(cap);
	CHECK(buf);
	tsdb__chunk_app a;
	tsdb__chunk_app_init(&a, buf, cap);
	for (size_t i = 0; i < n; i++) {
		for (;;) {
			tsdb__chunk_app snap = a;
			size_t need = tsdb__chunk_app_need(&a, ts[i], fromb(vs[i]));
			CHECK(cap <= sizeof before);
			memcpy(before, buf, cap);
			if (tsdb__chunk_app_append(&a, ts[i], fromb(vs[i])) == 0) {
				CHECK(tsdb__chunk_app_len(&a) == need);
				break;
			}
			CHECK(need > cap);
			CHECK(memcmp(&snap, &a, sizeof a) == 0);
			CHECK(memcmp(before, buf, cap) == 0);
			cap = need + (split >> 6); /* sometimes exact, sometimes slack */
			uint8_t *nb = realloc(buf, cap);
			CHECK(nb);
			buf = nb;
			a.data = buf;
			a.cap = cap;
		}
	}
	size_t len = tsdb__chunk_app_len(&a);
	CHECK(tsdb__chunk_count(buf, len) == n);

	/* decode from an exact-size copy and compare */
	ref = malloc(len);
	CHECK(ref);
	memcpy(ref, buf, len);
	tsdb__chunk_it it;
	tsdb__chunk_it_init(&it, ref, len);
	size_t i = 0;
	int64_t dt;
	double dv;
	while (tsdb__chunk_it_next(&it, &dt, &dv)) {
		CHECK(i < n);
		CHECK(dt == ts[i]);
		CHECK(tob(dv) == vs[i]);
		i++;
	}
	CHECK(!it.err);
	CHECK(i == n);

	/* resume at a split point: same bytes */
	size_t k = n ? split % (n + 1) : 0;
	tsdb__chunk_app_init(&a, buf, cap);
	for (i = 0; i < k; i++)
		CHECK(tsdb__chunk_app_append(&a, ts[i], fromb(vs[i])) == 0);
	tsdb__chunk_app b;
	CHECK(tsdb__chunk_app_resume(&b, buf, tsdb__chunk_app_len(&a), cap) == 0);
	CHECK(b.count == k);
	for (i = k; i < n; i++)
		CHECK(tsdb__chunk_app_append(&b, ts[i], fromb(vs[i])) == 0);
	CHECK(tsdb__chunk_app_len(&b) == len);
	CHECK(memcmp(buf, ref, len) == 0);

	free(buf);
	free(ref);
	return 0;
}
