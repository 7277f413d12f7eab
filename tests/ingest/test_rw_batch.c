/*
 * test_rw_batch.c — ingest.rw_batch: remote-write 1.0 requests of several hundred series, so the
 * append batch of remote_write.c (INGEST__BATCH series, flushed early when its label or string
 * room runs out) is filled, flushed mid-request and flushed before every rejection. Checks what is
 * stored and that the first-rejection detail and the counters of a stopped request are the ones
 * appending one series at a time gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_internal.h"
#include "ingest_test_util.h"

#define NOW 1700000000000LL

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* Adds series i: {__name__="b", i="<i>", <nextra labels x<k>="<pad>">} with one sample (t = NOW, v = i). */
static void add_series(itest_req *r, int i, int nextra, const char *pad)
{
	char iv[16];
	snprintf(iv, sizeof iv, "%d", i);
	itest_series(r, "__name__", "b", "i", iv, NULL);
	for (int k = 0; k < nextra; k++) {
		char nm[16];
		snprintf(nm, sizeof nm, "x%02d", k);
		Prometheus__TimeSeries *ts = r->cur;
		Prometheus__Label *l = arena_alloc(&r->ar, sizeof(*l));
		prometheus__label__init(l);
		l->name = arena_strdup(&r->ar, nm);
		l->value = arena_strdup(&r->ar, pad);
		Prometheus__Label **nv = arena_alloc(&r->ar, (ts->n_labels + 1) * sizeof(*nv));
		memcpy(nv, ts->labels, ts->n_labels * sizeof(*nv));
		nv[ts->n_labels++] = l;
		ts->labels = nv;
	}
	itest_sample(r, NOW, (double)i);
}

/* Runs r through a fresh context on db and returns the outcome. */
static ingest_outcome run(tsdb *db, const ingest_limits *lim, const itest_req *r, ingest_result *res)
{
	ingest_ctx *cx = ingest_ctx_new(db, lim, NULL);
	assert_non_null(cx);
	buf pb;
	buf_init(&pb, 0);
	itest_pack(r, &pb);
	ingest_outcome o = ingest_ctx_write_request_pb(cx, pb.data, pb.len, res);
	buf_deinit(&pb);
	ingest_ctx_free(cx);
	return o;
}

/* Every series of a many-batch request is stored with its own labels and value, whether the batch
 * is cut by its entry count, its label room (many labels) or its string room (long values). */
static void test_many_series_stored(void **state)
{
	(void)state;
	static const struct {
		int n, nextra;
		size_t padlen;
	} cases[] = {{1000, 0, 1}, {300, 40, 3}, {300, 3, 900}};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		tsdb *db = itest_open(0, 0);
		itest_req r;
		itest_req_init(&r);
		char *pad = malloc(cases[c].padlen + 1);
		memset(pad, 'p', cases[c].padlen);
		pad[cases[c].padlen] = '\0';
		for (int i = 0; i < cases[c].n; i++)
			add_series(&r, i, cases[c].nextra, pad);
		ingest_result res;
		assert_int_equal(run(db, NULL, &r, &res), INGEST_OK);
		assert_int_equal(res.series, (uint64_t)cases[c].n);
		assert_int_equal(res.samples_stored, (uint64_t)cases[c].n);
		assert_int_equal(itest_count_series(db, "b"), (size_t)cases[c].n);
		/* spot-check series across batch boundaries by exact label set (no extra labels case) */
		if (cases[c].nextra == 0) {
			static const int probe[] = {0, 15, 16, 127, 128, 129, 255, 256, 999};
			for (size_t k = 0; k < sizeof probe / sizeof probe[0]; k++) {
				char iv[16];
				snprintf(iv, sizeof iv, "%d", probe[k]);
				tsdb_sample s[2];
				assert_int_equal(itest_samples(db, s, 2, "__name__", "b", "i", iv, NULL), 1);
				assert_int_equal(s[0].t, NOW);
				assert_true(s[0].v == (double)probe[k]);
			}
		}
		free(pad);
		itest_req_deinit(&r);
		tsdb_close(db);
	}
}

/* tsdb series limit hit at series 150, invalid label at series 200: the first rejection in body
 * order (the limit) is the one reported, and vice versa. */
static void test_first_rejection_in_body_order(void **state)
{
	(void)state;
	for (int invalid_first = 0; invalid_first < 2; invalid_first++) {
		tsdb *db = itest_open(0, 150);
		itest_req r;
		itest_req_init(&r);
		int bad = invalid_first ? 100 : 200;
		for (int i = 0; i < 300; i++) {
			if (i == bad) {
				itest_series(&r, "__name__", "b", "1nvalid", "x", NULL);
				itest_sample(&r, NOW, 1);
			} else {
				add_series(&r, i, 0, "");
			}
		}
		ingest_result res;
		assert_int_equal(run(db, NULL, &r, &res), INGEST_BAD_REQUEST);
		/* 150 series fit; the other 149 valid ones hit the limit, plus the invalid one */
		assert_int_equal(res.rejected_series, 150);
		assert_int_equal(res.samples_stored, 150);
		assert_contains(res.message, invalid_first ? "rejected 150 of 300 series: invalid label name"
							   : "rejected 150 of 300 series: series limit reached");
		itest_req_deinit(&r);
		tsdb_close(db);
	}
}

/* A malformed Sample in series 5 of 300 (series 100 has an invalid label): the request fails on
 * the Sample, stores nothing, and its counters stop at series 5 (the rejection after it is never
 * reached), as one-at-a-time processing gives. */
static void test_malformed_sample_stops_in_order(void **state)
{
	(void)state;
	tsdb *db = itest_open(0, 0);
	itest_req a, b;
	itest_req_init(&a);
	itest_req_init(&b);
	for (int i = 0; i < 4; i++)
		add_series(&a, i, 0, "");
	for (int i = 5; i < 300; i++) {
		if (i == 100) {
			itest_series(&b, "__name__", "b", "1nvalid", "x", NULL);
			itest_sample(&b, NOW, 1);
		} else {
			add_series(&b, i, 0, "");
		}
	}
	buf pb, tail;
	buf_init(&pb, 0);
	buf_init(&tail, 0);
	itest_pack(&a, &pb);
	/* TimeSeries{Label{__name__="bad"}, Sample{fixed64 cut after 2 bytes}} */
	static const unsigned char broken[] = {0x0a, 0x16, 0x0a, 0x0f, 0x0a, 0x08, '_', '_', 'n', 'a', 'm', 'e', '_', '_',
					       0x12, 0x03, 'b',  'a',  'd',  0x12, 0x03, 0x09, 0x00, 0x00};
	buf_append(&pb, broken, sizeof broken);
	itest_pack(&b, &tail);
	buf_append(&pb, tail.data, tail.len);
	ingest_ctx *cx = ingest_ctx_new(db, NULL, NULL);
	ingest_result res;
	assert_int_equal(ingest_ctx_write_request_pb(cx, pb.data, pb.len, &res), INGEST_BAD_REQUEST);
	assert_contains(res.message, "Sample");
	assert_int_equal(res.series, 5);
	assert_int_equal(res.samples, 5);
	assert_int_equal(res.rejected_series, 0);
	assert_int_equal(res.samples_stored, 0);
	assert_int_equal(itest_count_series(db, ""), 0);
	/* the context is reusable: a good request afterwards stores everything */
	assert_int_equal(ingest_ctx_write_request_pb(cx, tail.data, tail.len, &res), INGEST_BAD_REQUEST);
	assert_int_equal(res.rejected_series, 1);
	assert_int_equal(res.samples_stored, 294);
	assert_int_equal(itest_count_series(db, "b"), 294);
	ingest_ctx_free(cx);
	buf_deinit(&pb);
	buf_deinit(&tail);
	itest_req_deinit(&a);
	itest_req_deinit(&b);
	tsdb_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_series_stored),
		cmocka_unit_test(test_first_rejection_in_body_order),
		cmocka_unit_test(test_malformed_sample_stops_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
