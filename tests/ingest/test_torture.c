/*
 * test_torture.c — ingest.torture: remote-write and text-format ingestion under a fault-injecting
 * allocator (tests/util/test_torture_alloc.h). For N = 1, 2, ... the Nth allocation made while
 * handling one request fails (context creation included), until a run completes untouched.
 * Every faulted run must answer OK or a clean 503/500 (INGEST_OVERLOADED / INGEST_INTERNAL, one
 * line message), never crash or leak (ASan builds), and lose nothing: OK means every sample is
 * stored, and after a 5xx the sender's retry (the same request, no faults) completes it: every
 * sample of the request is then stored exactly once (a commit that failed for memory half-way
 * applied whole series prefixes, so the retry appends the rest in order; it may answer 400 for
 * the samples already there). The request is hand-encoded protobuf
 * (names, values and a few sample kinds) wrapped in literal-only snappy, so building it allocates
 * nothing under injection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"
#include "test_torture_alloc.h"
#include "tsdb/tsdb.h"
#include "util/buf.h"

#define NOW 1700000000000LL
#define SERIES 12
#define SAMPLES 5
#define MAX_RUNS 100000UL

static void varint(buf *b, uint64_t v)
{
	while (v >= 0x80) {
		buf_putc(b, (char)(v | 0x80));
		v >>= 7;
	}
	buf_putc(b, (char)v);
}

static void field_bytes(buf *b, unsigned num, const void *p, size_t n)
{
	varint(b, num << 3 | 2);
	varint(b, n);
	buf_append(b, p, n);
}

static void label(buf *ts, const char *name, const char *value)
{
	buf l;
	buf_init(&l, 0);
	field_bytes(&l, 1, name, strlen(name));
	field_bytes(&l, 2, value, strlen(value));
	field_bytes(ts, 1, l.data, l.len);
	buf_deinit(&l);
}

/* A WriteRequest: SERIES series (unsorted labels, so ingest sorts) x SAMPLES samples. */
static void write_request(buf *out)
{
	for (int s = 0; s < SERIES; s++) {
		buf ts;
		buf_init(&ts, 0);
		char inst[32];
		snprintf(inst, sizeof inst, "host-%d:9100", s);
		label(&ts, "job", s % 2 ? "api" : "db");
		label(&ts, "__name__", "torture_requests_total");
		label(&ts, "instance", inst);
		label(&ts, "empty", ""); /* dropped: an empty value means absent */
		for (int k = 0; k < SAMPLES; k++) {
			buf smp;
			buf_init(&smp, 0);
			double v = s * 100 + k;
			varint(&smp, 1 << 3 | 1);
			buf_append(&smp, &v, 8);
			varint(&smp, 2 << 3);
			varint(&smp, (uint64_t)(NOW + k * 15000));
			field_bytes(&ts, 2, smp.data, smp.len);
			buf_deinit(&smp);
		}
		field_bytes(out, 1, ts.data, ts.len);
		buf_deinit(&ts);
	}
}

/* Snappy block format with literals only (valid, uncompressed). */
static void snappy_literal(const buf *in, buf *out)
{
	varint(out, in->len);
	for (size_t i = 0; i < in->len; i += 60000) {
		size_t n = in->len - i < 60000 ? in->len - i : 60000;
		if (n - 1 < 60) {
			buf_putc(out, (char)((n - 1) << 2));
		} else {
			buf_putc(out, (char)(61 << 2));
			buf_putc(out, (char)((n - 1) & 0xff));
			buf_putc(out, (char)((n - 1) >> 8));
		}
		buf_append(out, in->data + i, n);
	}
}

static tsdb *open_db(void)
{
	tsdb_options o;
	tsdb_options_default(&o);
	tsdb *db = NULL;
	char err[256];
	assert_int_equal(tsdb_open(&o, &db, err, sizeof err), 0);
	return db;
}

typedef ingest_outcome (*request_fn)(ingest_ctx *cx, const buf *body, ingest_result *res);

static ingest_outcome do_remote_write(ingest_ctx *cx, const buf *body, ingest_result *res)
{
	return ingest_ctx_remote_write(cx, "application/x-protobuf", "snappy", "0.1.0", body->data, body->len, res);
}

static ingest_outcome do_text(ingest_ctx *cx, const buf *body, ingest_result *res)
{
	return ingest_ctx_text(cx, body->data, body->len, NOW, res);
}

static void torture(const buf *body, request_fn fn, uint64_t want_samples, const char *what)
{
	int64_t now = NOW;
	slod_clock clock = slod_clock_manual(&now);
	unsigned long n, errors = 0;
	for (n = 1; n < MAX_RUNS; n++) {
		tsdb *db = open_db();
		ingest_result res;
		memset(&res, 0, sizeof res);
		torture_fail_nth(n);
		ingest_ctx *cx = ingest_ctx_new(db, NULL, &clock);
		ingest_outcome o = INGEST_OVERLOADED;
		if (cx)
			o = fn(cx, body, &res);
		ingest_ctx_free(cx);
		bool failed = torture_disarm();
		tsdb_stats st;
		tsdb_get_stats(db, &st);
		if (o == INGEST_OK) {
			if (st.samples_appended != want_samples || st.series != SERIES)
				print_error("%s, allocation %lu failed: OK but %llu samples in %llu series stored\n", what, n,
					    (unsigned long long)st.samples_appended, (unsigned long long)st.series);
			assert_int_equal(st.samples_appended, want_samples);
			assert_int_equal(st.series, SERIES);
		} else {
			if (o != INGEST_OVERLOADED && o != INGEST_INTERNAL)
				print_error("%s, allocation %lu failed: outcome %s: %s\n", what, n, ingest_outcome_name(o),
					    res.message);
			assert_true(o == INGEST_OVERLOADED || o == INGEST_INTERNAL);
			if (cx) /* a message for the HTTP body, one line */
				assert_true(res.message[0] != '\0' && !strchr(res.message, '\n'));
			/* the sender retries a 5xx: the retry must complete the request exactly (samples a
			 * failed commit did apply are refused as out of order, the others stored) */
			ingest_ctx *cx2 = ingest_ctx_new(db, NULL, &clock);
			assert_non_null(cx2);
			ingest_outcome o2 = fn(cx2, body, &res);
			/* 400 when the failed commit had applied part of the batch (out of order now) */
			if (o2 != INGEST_OK && o2 != INGEST_BAD_REQUEST)
				print_error("%s, allocation %lu failed: %s; the retry: %s: %s\n", what, n,
					    ingest_outcome_name(o), ingest_outcome_name(o2), res.message);
			assert_true(o2 == INGEST_OK || o2 == INGEST_BAD_REQUEST);
			ingest_ctx_free(cx2);
			tsdb_get_stats(db, &st);
			if (st.samples_appended != want_samples)
				print_error("%s, allocation %lu failed: %s, retried: %llu samples stored\n", what, n,
					    ingest_outcome_name(o), (unsigned long long)st.samples_appended);
			assert_int_equal(st.samples_appended, want_samples);
			assert_int_equal(st.series, SERIES);
			errors++;
		}
		tsdb_close(db);
		if (!failed)
			break;
	}
	assert_true(n < MAX_RUNS);
	print_message("%s: %lu runs, %lu clean 503/500 answers\n", what, n, errors);
}

static void test_remote_write_oom(void **state)
{
	(void)state;
	buf pb, body;
	buf_init(&pb, 0);
	buf_init(&body, 0);
	write_request(&pb);
	snappy_literal(&pb, &body);
	torture(&body, do_remote_write, SERIES * SAMPLES, "remote write");
	buf_deinit(&pb);
	buf_deinit(&body);
}

static void test_text_oom(void **state)
{
	(void)state;
	buf body;
	buf_init(&body, 0);
	buf_puts(&body, "# HELP torture_requests_total Requests.\n# TYPE torture_requests_total counter\n");
	for (int s = 0; s < SERIES; s++)
		for (int k = 0; k < SAMPLES; k++)
			buf_printf(&body, "torture_requests_total{job=\"%s\",instance=\"host-%d:9100\",x=\"a\\\"b\\\\c\\n\"} %d %lld\n",
				   s % 2 ? "api" : "db", s, s * 100 + k, (long long)(NOW + k * 15000));
	torture(&body, do_text, SERIES * SAMPLES, "text import");
	buf_deinit(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_write_oom),
		cmocka_unit_test(test_text_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
