/*
 * test_remote_write.c — ingest.remote_write: real remote-write 1.0 requests built with the
 * generated prompb encoder + snappy, run into an in-memory tsdb, checked through the querier.
 * Every error path of ingest_ctx_remote_write has a case here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_internal.h"
#include "ingest_test_util.h"

#define NOW 1700000000000LL
#define CT "application/x-protobuf"

typedef struct fx {
	tsdb *db;
	ingest_ctx *cx;
	int64_t now;
	slod_clock clock;
	ingest_limits lim;
	itest_req r;
	buf body;
	ingest_result res;
} fx;

static fx *fx_new_ret(int64_t ooo, size_t max_series, const ingest_limits *lim, int64_t retention)
{
	fx *f = calloc(1, sizeof(*f));
	f->db = itest_open_retention(ooo, max_series, retention);
	f->now = NOW;
	f->clock = slod_clock_manual(&f->now);
	if (lim)
		f->lim = *lim;
	else
		ingest_limits_default(&f->lim);
	f->cx = ingest_ctx_new(f->db, &f->lim, &f->clock);
	assert_non_null(f->cx);
	itest_req_init(&f->r);
	buf_init(&f->body, 0);
	return f;
}

static fx *fx_new(int64_t ooo, size_t max_series, const ingest_limits *lim)
{
	return fx_new_ret(ooo, max_series, lim, 0);
}

static int setup(void **state)
{
	*state = fx_new(0, 0, NULL);
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	ingest_ctx_free(f->cx);
	tsdb_close(f->db);
	itest_req_deinit(&f->r);
	buf_deinit(&f->body);
	free(f);
	return 0;
}

/* Encodes f->r and sends it with standard 1.0 headers. */
static ingest_outcome send(fx *f)
{
	buf_reset(&f->body);
	itest_encode(&f->r, &f->body);
	return ingest_ctx_remote_write(f->cx, CT, "snappy", "0.1.0", f->body.data, f->body.len, &f->res);
}

static void reset_req(fx *f)
{
	itest_req_deinit(&f->r);
	itest_req_init(&f->r);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void test_valid_request_stored(void **state)
{
	fx *f = *state;
	for (int s = 0; s < 3; s++) {
		char inst[16];
		snprintf(inst, sizeof inst, "host%d", s);
		itest_series(&f->r, "__name__", "http_requests_total", "instance", inst, "job", "api", NULL);
		for (int k = 0; k < 5; k++)
			itest_sample(&f->r, NOW - 5000 + k * 1000, s * 100 + k + 0.5);
	}
	assert_int_equal(send(f), INGEST_OK);
	assert_int_equal(f->res.outcome, INGEST_OK);
	assert_int_equal(ingest_outcome_http_status(f->res.outcome), 204);
	assert_string_equal(f->res.message, "");
	assert_int_equal(f->res.series, 3);
	assert_int_equal(f->res.samples, 15);
	assert_int_equal(f->res.samples_stored, 15);
	assert_int_equal(f->res.rejected_series, 0);
	assert_int_equal(itest_count_series(f->db, "http_requests_total"), 3);
	tsdb_sample out[8];
	long n = itest_samples(f->db, out, 8, "__name__", "http_requests_total", "instance", "host1", "job", "api",
			       NULL);
	assert_int_equal(n, 5);
	for (int k = 0; k < 5; k++) {
		assert_int_equal(out[k].t, NOW - 5000 + k * 1000);
		assert_true(out[k].v == 100 + k + 0.5);
	}
}

static void test_unsorted_labels_canonicalised(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "job", "api", "__name__", "up", "instance", "a:9090", NULL);
	itest_sample(&f->r, NOW - 2000, 1);
	assert_int_equal(send(f), INGEST_OK);
	reset_req(f);
	/* the same series in yet another order: must land in the same series */
	itest_series(&f->r, "instance", "a:9090", "job", "api", "__name__", "up", NULL);
	itest_sample(&f->r, NOW - 1000, 0);
	assert_int_equal(send(f), INGEST_OK);
	assert_int_equal(itest_count_series(f->db, "up"), 1);
	tsdb_sample out[4];
	assert_int_equal(itest_samples(f->db, out, 4, "__name__", "up", "instance", "a:9090", "job", "api", NULL), 2);
	/* stored label set is sorted */
	tsdb_matcher m = {.type = TSDB_MATCH_EQ, .name = "__name__", .value = "up"};
	tsdb_querier *q = tsdb_querier_open(f->db, INT64_MIN, INT64_MAX);
	tsdb_series *ss;
	size_t ns;
	assert_int_equal(tsdb_querier_select(q, &m, 1, &ss, &ns), 0);
	assert_int_equal(ns, 1);
	assert_int_equal(ss[0].labels->n, 3);
	assert_string_equal(ss[0].labels->v[0].name, "__name__");
	assert_string_equal(ss[0].labels->v[1].name, "instance");
	assert_string_equal(ss[0].labels->v[2].name, "job");
	tsdb_querier_close(q);

	/* a big label set in reverse order (the qsort path), sent twice in different orders */
	for (int round = 0; round < 2; round++) {
		reset_req(f);
		itest_series(&f->r, NULL);
		char names[40][8];
		for (int i = 0; i < 40; i++) {
			int k = round ? i : 39 - i;
			snprintf(names[k], sizeof names[k], "l%02d", k);
			Prometheus__Label *l = arena_calloc(&f->r.ar, 1, sizeof(*l));
			prometheus__label__init(l);
			l->name = names[k];
			l->value = "v";
			Prometheus__Label **nv = arena_alloc(&f->r.ar, (f->r.cur->n_labels + 1) * sizeof(*nv));
			if (f->r.cur->n_labels)
				memcpy(nv, f->r.cur->labels, f->r.cur->n_labels * sizeof(*nv));
			nv[f->r.cur->n_labels++] = l;
			f->r.cur->labels = nv;
		}
		Prometheus__Label *mn = arena_calloc(&f->r.ar, 1, sizeof(*mn));
		prometheus__label__init(mn);
		mn->name = "__name__";
		mn->value = "wide";
		Prometheus__Label **nv = arena_alloc(&f->r.ar, (f->r.cur->n_labels + 1) * sizeof(*nv));
		memcpy(nv, f->r.cur->labels, f->r.cur->n_labels * sizeof(*nv));
		nv[f->r.cur->n_labels++] = mn;
		f->r.cur->labels = nv;
		itest_sample(&f->r, NOW - 1000 + round, round);
		assert_int_equal(send(f), INGEST_OK);
	}
	m.value = "wide";
	q = tsdb_querier_open(f->db, INT64_MIN, INT64_MAX);
	assert_int_equal(tsdb_querier_select(q, &m, 1, &ss, &ns), 0);
	assert_int_equal(ns, 1);
	assert_int_equal(ss[0].labels->n, 41);
	assert_string_equal(ss[0].labels->v[0].name, "__name__");
	for (size_t i = 2; i < 41; i++)
		assert_true(strcmp(ss[0].labels->v[i - 1].name, ss[0].labels->v[i].name) < 0);
	tsdb_querier_close(q);
}

static void test_duplicate_label_rejected_rest_stored(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "__name__", "good_one", "job", "a", NULL);
	itest_sample(&f->r, NOW, 1);
	itest_series(&f->r, "__name__", "bad", "job", "a", "job", "b", NULL);
	itest_sample(&f->r, NOW, 2);
	itest_sample(&f->r, NOW + 1, 3);
	itest_series(&f->r, "__name__", "good_two", NULL);
	itest_sample(&f->r, NOW, 4);
	assert_int_equal(send(f), INGEST_BAD_REQUEST);
	assert_int_equal(ingest_outcome_http_status(f->res.outcome), 400);
	assert_int_equal(f->res.rejected_series, 1);
	assert_int_equal(f->res.rejected_invalid_labels, 2);
	assert_int_equal(f->res.samples_stored, 2);
	assert_contains(f->res.message, "rejected 1 of 3 series: duplicate label name \"job\"");
	assert_contains(f->res.message, "bad");
	assert_null(strchr(f->res.message, '\n'));
	tsdb_sample out[2];
	assert_int_equal(itest_samples(f->db, out, 2, "__name__", "good_one", "job", "a", NULL), 1);
	assert_int_equal(itest_samples(f->db, out, 2, "__name__", "good_two", NULL), 1);
	assert_true(out[0].v == 4);
	assert_int_equal(itest_count_series(f->db, "bad"), 0);
}

/* Each invalid label set is rejected on its own while a good series in the same request is stored. */
static void test_invalid_labels(void **state)
{
	fx *f = *state;
	static const struct {
		const char *name, *value, *want;
	} cases[] = {
		{"1abc", "x", "invalid label name"},
		{"a-b", "x", "invalid label name"},
		{"", "x", "empty label name"},
		{"path", "\xff\xfe", "invalid UTF-8"},
		{"path", "\xc0\xaf", "invalid UTF-8"},      /* overlong encoding */
		{"path", "\xed\xa0\x80", "invalid UTF-8"},  /* surrogate */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		reset_req(f);
		itest_series(&f->r, "__name__", "ok_metric", NULL);
		itest_sample(&f->r, NOW + (int64_t)i, 1);
		itest_series(&f->r, "__name__", "bad_metric", cases[i].name, cases[i].value, NULL);
		itest_sample(&f->r, NOW, 1);
		assert_int_equal(send(f), INGEST_BAD_REQUEST);
		assert_int_equal(f->res.rejected_series, 1);
		assert_int_equal(f->res.samples_stored, 1);
		assert_contains(f->res.message, cases[i].want);
		/* the message is printable UTF-8 even when the labels were not */
		assert_true(slod_utf8_valid(f->res.message, strlen(f->res.message)));
		for (const char *c = f->res.message; *c; c++)
			assert_true((unsigned char)*c >= 0x20);
	}
	assert_int_equal(itest_count_series(f->db, "bad_metric"), 0);
	tsdb_sample out[8];
	assert_int_equal(itest_samples(f->db, out, 8, "__name__", "ok_metric", NULL), 6);
}

static void test_metric_name_checks(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "job", "no_name", NULL);
	itest_sample(&f->r, NOW, 1);
	itest_series(&f->r, "__name__", "", "job", "empty_name", NULL);
	itest_sample(&f->r, NOW, 1);
	itest_series(&f->r, "__name__", "bad-name", NULL);
	itest_sample(&f->r, NOW, 1);
	itest_series(&f->r, "__name__", "job:rate5m:sum", NULL); /* colons are fine */
	itest_sample(&f->r, NOW, 1);
	assert_int_equal(send(f), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.rejected_series, 3);
	assert_int_equal(f->res.samples_stored, 1);
	assert_contains(f->res.message, "rejected 3 of 4 series: missing metric name");
	assert_int_equal(itest_count_series(f->db, "job:rate5m:sum"), 1);
}

static void test_nul_in_value_rejected(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "__name__", "ok_metric", NULL);
	itest_sample(&f->r, NOW, 1);
	buf pb;
	buf_init(&pb, 0);
	itest_pack(&f->r, &pb);
	itest_raw_series(&pb, "path", 4, "a\0b", 3, NOW, 2);   /* would otherwise truncate to "a" */
	itest_raw_series(&pb, "pa\0th", 5, "a", 1, NOW, 3);    /* NUL in a name */
	itest_raw_series(&pb, "path", 4, "fine", 4, NOW, 4);   /* raw encoder sanity: stored */
	assert_int_equal(ingest_ctx_write_request_pb(f->cx, pb.data, pb.len, &f->res), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.series, 4);
	assert_int_equal(f->res.rejected_series, 2);
	assert_int_equal(f->res.samples_stored, 2);
	assert_contains(f->res.message, "NUL byte in value of label \"path\"");
	tsdb_sample out[2];
	assert_int_equal(itest_samples(f->db, out, 2, "__name__", "raw_metric", "path", "a", NULL), -1);
	assert_int_equal(itest_samples(f->db, out, 2, "__name__", "raw_metric", "path", "fine", NULL), 1);
	assert_true(out[0].v == 4);
	buf_deinit(&pb);
}

/* The remote-write path hashes label sets itself (one XXH3 call over its own buffer); tsdb finds
 * series by that hash, so it must equal labels_hash(), which the text path uses. If it did not,
 * the same labels would become two series. */
static void test_hash_agrees_with_labels_hash(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "b", "2", "__name__", "agree", "a", "1", "empty", "", NULL);
	itest_sample(&f->r, NOW - 1000, 1);
	assert_int_equal(send(f), INGEST_OK);
	const char *text = "agree{a=\"1\",b=\"2\"} 2 1700000000000\n";
	assert_int_equal(ingest_ctx_text(f->cx, text, strlen(text), 0, &f->res), INGEST_OK);
	assert_int_equal(itest_count_series(f->db, "agree"), 1);
	tsdb_sample out[4];
	assert_int_equal(itest_samples(f->db, out, 4, "__name__", "agree", "a", "1", "b", "2", NULL), 2);
}

static void test_empty_label_value_dropped(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "__name__", "m", "a", "", "b", "x", NULL);
	itest_sample(&f->r, NOW, 7);
	assert_int_equal(send(f), INGEST_OK);
	tsdb_sample out[2];
	assert_int_equal(itest_samples(f->db, out, 2, "__name__", "m", "b", "x", NULL), 1);
	assert_true(out[0].v == 7);
}

static void test_stale_nan_bits_preserved(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "__name__", "stale_test", NULL);
	itest_sample(&f->r, NOW - 3000, 1);
	itest_sample(&f->r, NOW - 2000, itest_from_bits(TSDB_STALE_NAN_BITS));
	itest_sample(&f->r, NOW - 1000, itest_from_bits(0x7ff8000000000001ULL));
	itest_sample(&f->r, NOW, itest_from_bits(0xfff0000000000000ULL)); /* -Inf */
	assert_int_equal(send(f), INGEST_OK);
	tsdb_sample out[4];
	assert_int_equal(itest_samples(f->db, out, 4, "__name__", "stale_test", NULL), 4);
	assert_true(itest_bits(out[1].v) == TSDB_STALE_NAN_BITS);
	assert_true(itest_bits(out[2].v) == 0x7ff8000000000001ULL);
	assert_true(itest_bits(out[3].v) == 0xfff0000000000000ULL);
	/* -0.0 (proto3 encoders omit it as a default; sent explicitly it must survive) */
	buf pb;
	buf_init(&pb, 0);
	itest_raw_series(&pb, "sign", 4, "neg", 3, NOW, -0.0);
	assert_int_equal(ingest_ctx_write_request_pb(f->cx, pb.data, pb.len, &f->res), INGEST_OK);
	assert_int_equal(itest_samples(f->db, out, 4, "__name__", "raw_metric", "sign", "neg", NULL), 1);
	assert_true(itest_bits(out[0].v) == 0x8000000000000000ULL);
	buf_deinit(&pb);
}

static void test_duplicates_dropped_quietly(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "__name__", "dup", NULL);
	itest_sample(&f->r, NOW - 1000, 1);
	itest_sample(&f->r, NOW, 2);
	itest_sample(&f->r, NOW, 2); /* twice in one request */
	assert_int_equal(send(f), INGEST_OK);
	assert_int_equal(f->res.duplicates_dropped, 1);
	assert_int_equal(f->res.samples_stored, 2);
	/* a retry of the newest sample: a duplicate, still OK */
	reset_req(f);
	itest_series(&f->r, "__name__", "dup", NULL);
	itest_sample(&f->r, NOW, 2);
	assert_int_equal(send(f), INGEST_OK);
	assert_int_equal(f->res.duplicates_dropped, 1);
	assert_int_equal(f->res.samples_stored, 0);
	assert_string_equal(f->res.message, "");
	tsdb_sample out[4];
	assert_int_equal(itest_samples(f->db, out, 4, "__name__", "dup", NULL), 2);
	/* a stale marker repeated is a duplicate too (bit-exact comparison) */
	reset_req(f);
	itest_series(&f->r, "__name__", "dup", NULL);
	itest_sample(&f->r, NOW + 1000, itest_from_bits(TSDB_STALE_NAN_BITS));
	itest_sample(&f->r, NOW + 1000, itest_from_bits(TSDB_STALE_NAN_BITS));
	assert_int_equal(send(f), INGEST_OK);
	assert_int_equal(f->res.duplicates_dropped, 1);
}

static void test_out_of_order_counted(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "__name__", "ooo", NULL);
	itest_sample(&f->r, NOW, 1);
	assert_int_equal(send(f), INGEST_OK);
	reset_req(f);
	itest_series(&f->r, "__name__", "ooo", NULL);
	itest_sample(&f->r, NOW - 60000, 2);
	itest_sample(&f->r, NOW - 30000, 3);
	itest_sample(&f->r, NOW + 1000, 4);
	itest_series(&f->r, "__name__", "other", NULL);
	itest_sample(&f->r, NOW, 5);
	assert_int_equal(send(f), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.out_of_order, 2);
	assert_int_equal(f->res.samples_stored, 2);
	assert_contains(f->res.message, "2 samples out of order");
	assert_contains(f->res.message, "{__name__=\"ooo\"} @1699999940000");
	tsdb_sample out[4];
	assert_int_equal(itest_samples(f->db, out, 4, "__name__", "ooo", NULL), 2);
	assert_int_equal(out[1].t, NOW + 1000);
	assert_int_equal(itest_samples(f->db, out, 4, "__name__", "other", NULL), 1);
}

static void test_duplicate_timestamp_different_value(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "__name__", "dts", NULL);
	itest_sample(&f->r, NOW, 1);
	assert_int_equal(send(f), INGEST_OK);
	reset_req(f);
	itest_series(&f->r, "__name__", "dts", NULL);
	itest_sample(&f->r, NOW, 2);
	assert_int_equal(send(f), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.duplicate_timestamp, 1);
	assert_contains(f->res.message, "duplicate timestamp");
	tsdb_sample out[2];
	assert_int_equal(itest_samples(f->db, out, 2, "__name__", "dts", NULL), 1);
	assert_true(out[0].v == 1);
}

static void test_too_old_with_retention(void **state)
{
	fx *f = fx_new_ret(0, 0, NULL, 3600 * 1000);
	itest_series(&f->r, "__name__", "recent", NULL);
	itest_sample(&f->r, NOW, 1);
	assert_int_equal(send(f), INGEST_OK);
	reset_req(f);
	itest_series(&f->r, "__name__", "ancient", NULL);
	itest_sample(&f->r, NOW - 2 * 3600 * 1000, 2);
	itest_series(&f->r, "__name__", "fresh_enough", NULL);
	itest_sample(&f->r, NOW - 1800 * 1000, 3);
	assert_int_equal(send(f), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.too_old, 1);
	assert_int_equal(f->res.samples_stored, 1);
	assert_contains(f->res.message, "1 samples too old");
	tsdb_sample out[2];
	assert_int_equal(itest_samples(f->db, out, 2, "__name__", "fresh_enough", NULL), 1);
	void *st = f;
	teardown(&st);
	(void)state;
}

static void test_out_of_order_window(void **state)
{
	fx *f = fx_new(10 * 60 * 1000, 0, NULL);
	itest_series(&f->r, "__name__", "win", NULL);
	itest_sample(&f->r, NOW, 1);
	assert_int_equal(send(f), INGEST_OK);
	reset_req(f);
	itest_series(&f->r, "__name__", "win", NULL);
	itest_sample(&f->r, NOW - 5 * 60 * 1000, 2);  /* inside the window: accepted */
	itest_sample(&f->r, NOW - 20 * 60 * 1000, 3); /* beyond it: out of order */
	assert_int_equal(send(f), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.out_of_order, 1);
	tsdb_sample out[4];
	assert_int_equal(itest_samples(f->db, out, 4, "__name__", "win", NULL), 2);
	assert_int_equal(out[0].t, NOW - 5 * 60 * 1000);
	void *st = f;
	teardown(&st);
	(void)state;
}

static void test_too_far_in_future(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "__name__", "fut", NULL);
	itest_sample(&f->r, NOW + 9 * 60000, 1);
	itest_sample(&f->r, NOW + 11 * 60000, 2);
	assert_int_equal(send(f), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.too_far_future, 1);
	assert_int_equal(f->res.samples_stored, 1);
	assert_contains(f->res.message, "too far in the future");
}

static void test_exemplars_histograms_metadata_ignored(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "__name__", "with_extras", NULL);
	itest_sample(&f->r, NOW, 3);
	itest_exemplar(&f->r, NOW, 0.25);
	itest_exemplar(&f->r, NOW, 0.5);
	itest_series(&f->r, "__name__", "native_hist", NULL);
	itest_histogram(&f->r, NOW);
	itest_metadata(&f->r, "with_extras", "A counter with exemplars.");
	assert_int_equal(send(f), INGEST_OK);
	assert_int_equal(f->res.exemplars_ignored, 2);
	assert_int_equal(f->res.histograms_ignored, 1);
	assert_int_equal(f->res.metadata_ignored, 1);
	assert_int_equal(f->res.samples_stored, 1);
	tsdb_sample out[2];
	assert_int_equal(itest_samples(f->db, out, 2, "__name__", "with_extras", NULL), 1);
	assert_int_equal(itest_count_series(f->db, "native_hist"), 0);
}

static void test_bad_snappy(void **state)
{
	fx *f = *state;
	static const char garbage[] = "\x10this is not snappy at all";
	assert_int_equal(ingest_ctx_remote_write(f->cx, CT, "snappy", NULL, garbage, sizeof garbage - 1, &f->res),
			 INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "snappy");
	assert_int_equal(ingest_ctx_remote_write(f->cx, CT, "snappy", NULL, "", 0, &f->res), INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "snappy: corrupt block header");
	/* valid snappy of a valid request, then damaged in the middle of the compressed stream */
	itest_series(&f->r, "__name__", "x", NULL);
	itest_sample(&f->r, NOW, 1);
	buf_reset(&f->body);
	itest_encode(&f->r, &f->body);
	f->body.len -= 3;
	assert_int_equal(ingest_ctx_remote_write(f->cx, CT, "snappy", NULL, f->body.data, f->body.len, &f->res),
			 INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "snappy: corrupt compressed data");
	assert_int_equal(itest_count_series(f->db, "x"), 0);
}

static void test_truncated_protobuf(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "__name__", "trunc", "job", "a", NULL);
	itest_sample(&f->r, NOW, 1);
	buf pb, z;
	buf_init(&pb, 0);
	buf_init(&z, 0);
	itest_pack(&f->r, &pb);
	assert_int_equal(ingest_snappy_compress(pb.data, pb.len - 4, &z), 0);
	assert_int_equal(ingest_ctx_remote_write(f->cx, CT, "snappy", NULL, z.data, z.len, &f->res),
			 INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "protobuf: field 1 of WriteRequest at byte 0 claims");
	assert_int_equal(itest_count_series(f->db, "trunc"), 0);
	/* a wire-type mismatch deep inside: Sample.value (fixed64) sent as a varint */
	static const unsigned char bad[] = {0x0a, 0x04, 0x12, 0x02, 0x08, 0x01};
	assert_int_equal(ingest_ctx_write_request_pb(f->cx, bad, sizeof bad, &f->res), INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "field 1 of Sample has wire type 0, expected 1");
	/* a truncated varint */
	static const unsigned char bad2[] = {0x0a, 0x03, 0x12, 0x01, 0x10};
	assert_int_equal(ingest_ctx_write_request_pb(f->cx, bad2, sizeof bad2, &f->res), INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "protobuf:");
	/* wire type 7 */
	static const unsigned char bad3[] = {0x0f};
	assert_int_equal(ingest_ctx_write_request_pb(f->cx, bad3, sizeof bad3, &f->res), INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "wire type 7");
	buf_deinit(&pb);
	buf_deinit(&z);
}

static void test_empty_request_ok(void **state)
{
	fx *f = *state;
	assert_int_equal(send(f), INGEST_OK);
	assert_int_equal(f->res.series, 0);
	assert_int_equal(ingest_ctx_write_request_pb(f->cx, "", 0, &f->res), INGEST_OK);
}

static void test_oversize_compressed_body(void **state)
{
	fx *f = *state;
	ingest_limits lim;
	ingest_limits_default(&lim);
	lim.max_body_bytes = 64;
	ingest_ctx *cx = ingest_ctx_new(f->db, &lim, NULL);
	for (int i = 0; i < 20; i++) {
		char name[32];
		snprintf(name, sizeof name, "big_%d", i);
		itest_series(&f->r, "__name__", name, NULL);
		itest_sample(&f->r, NOW, i);
	}
	buf_reset(&f->body);
	itest_encode(&f->r, &f->body);
	assert_true(f->body.len > 64);
	assert_int_equal(ingest_ctx_remote_write(cx, CT, "snappy", NULL, f->body.data, f->body.len, &f->res),
			 INGEST_TOO_LARGE);
	assert_int_equal(ingest_outcome_http_status(f->res.outcome), 413);
	assert_contains(f->res.message, "exceeds the limit of 64");
	assert_int_equal(itest_count_series(f->db, "big_0"), 0);
	ingest_ctx_free(cx);
}

static void test_declared_1gib_fails_fast(void **state)
{
	fx *f = *state;
	/* snappy block header: varint 1 GiB, then a literal tag and a few bytes */
	static const unsigned char hdr[] = {0x80, 0x80, 0x80, 0x80, 0x04, 0x0c, 'a', 'b', 'c', 'd'};
	assert_int_equal(ingest_ctx_remote_write(f->cx, CT, "snappy", NULL, hdr, sizeof hdr, &f->res),
			 INGEST_TOO_LARGE);
	assert_contains(f->res.message, "declared decompressed size 1073741824 exceeds");
	assert_null(f->cx->dbuf); /* nothing was allocated for it */
	assert_int_equal(f->cx->dcap, 0);
	/* a declared size over 2^64 is a corrupt header */
	static const unsigned char hdr2[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	assert_int_equal(ingest_ctx_remote_write(f->cx, CT, "snappy", NULL, hdr2, sizeof hdr2, &f->res),
			 INGEST_BAD_REQUEST);
}

static void test_series_and_label_limits(void **state)
{
	fx *f = *state;
	ingest_limits lim;
	ingest_limits_default(&lim);
	lim.max_series = 2;
	lim.max_labels_per_series = 3;
	lim.max_label_name_len = 8;
	lim.max_label_value_len = 10;
	ingest_ctx *cx = ingest_ctx_new(f->db, &lim, NULL);
	for (int i = 0; i < 3; i++) {
		itest_series(&f->r, "__name__", "lim", NULL);
		itest_sample(&f->r, NOW + i, i);
	}
	buf_reset(&f->body);
	itest_encode(&f->r, &f->body);
	assert_int_equal(ingest_ctx_remote_write(cx, CT, NULL, NULL, f->body.data, f->body.len, &f->res),
			 INGEST_TOO_LARGE);
	assert_contains(f->res.message, "3 series in one request exceed the limit of 2");
	assert_int_equal(itest_count_series(f->db, "lim"), 0);

	reset_req(f);
	itest_series(&f->r, "__name__", "lim", "a", "1", "b", "2", "c", "3", NULL); /* 4 labels */
	itest_sample(&f->r, NOW, 1);
	itest_series(&f->r, "__name__", "lim", "verylonglabel", "1", NULL);
	itest_sample(&f->r, NOW, 1);
	buf_reset(&f->body);
	itest_encode(&f->r, &f->body);
	assert_int_equal(ingest_ctx_remote_write(cx, CT, NULL, NULL, f->body.data, f->body.len, &f->res),
			 INGEST_BAD_REQUEST);
	assert_int_equal(f->res.rejected_series, 2);
	assert_contains(f->res.message, "too many labels (4, limit 3)");

	reset_req(f);
	itest_series(&f->r, "__name__", "lim", "a", "01234567890", NULL); /* value of 11 bytes */
	itest_sample(&f->r, NOW, 1);
	itest_series(&f->r, "__name__", "lim", "a", "0123456789", NULL); /* 10: fine */
	itest_sample(&f->r, NOW, 1);
	buf_reset(&f->body);
	itest_encode(&f->r, &f->body);
	assert_int_equal(ingest_ctx_remote_write(cx, CT, NULL, NULL, f->body.data, f->body.len, &f->res),
			 INGEST_BAD_REQUEST);
	assert_int_equal(f->res.rejected_series, 1);
	assert_int_equal(f->res.samples_stored, 1);
	assert_contains(f->res.message, "exceeds the limit of 10");
	ingest_ctx_free(cx);
}

static void test_tsdb_series_limit(void **state)
{
	fx *f = fx_new(0, 2, NULL);
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%d", i);
		itest_series(&f->r, "__name__", name, NULL);
		itest_sample(&f->r, NOW, i);
		itest_sample(&f->r, NOW + 1, i);
	}
	assert_int_equal(send(f), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.rejected_series, 1);
	assert_int_equal(f->res.rejected_limit, 2);
	assert_int_equal(f->res.samples_stored, 4);
	assert_contains(f->res.message, "series limit reached");
	void *st = f;
	teardown(&st);
	(void)state;
}

static void test_headers(void **state)
{
	fx *f = *state;
	itest_series(&f->r, "__name__", "hdr", NULL);
	itest_sample(&f->r, NOW, 1);
	buf_reset(&f->body);
	itest_encode(&f->r, &f->body);
	const char *b = f->body.data;
	size_t n = f->body.len;
	static const struct {
		const char *ct, *enc, *ver;
		ingest_outcome want;
		const char *msg;
	} cases[] = {
		{"text/plain", "snappy", NULL, INGEST_UNSUPPORTED_MEDIA_TYPE, "expected application/x-protobuf"},
		{"application/json", NULL, NULL, INGEST_UNSUPPORTED_MEDIA_TYPE, "unsupported Content-Type"},
		/* a 1.0 body sent as 2.0 is read as 2.0: its fields are reserved there, an empty request */
		{"application/x-protobuf;proto=io.prometheus.write.v2.Request", "snappy", "2.0.0", INGEST_OK, ""},
		{"application/x-protobuf; proto=\"io.prometheus.write.v2.Request\"", "snappy", NULL, INGEST_OK, ""},
		{"application/x-protobuf;proto=foo.Bar", "snappy", NULL, INGEST_UNSUPPORTED_MEDIA_TYPE,
		 "unsupported protobuf message"},
		{CT, "gzip", NULL, INGEST_UNSUPPORTED_MEDIA_TYPE, "only snappy"},
		{CT, "zstd", NULL, INGEST_UNSUPPORTED_MEDIA_TYPE, "only snappy"},
		{NULL, "snappy", "2.0.0", INGEST_UNSUPPORTED_MEDIA_TYPE, "proto=io.prometheus.write.v2.Request"},
		{CT, "snappy", "0.1.0", INGEST_OK, ""},
		{NULL, NULL, NULL, INGEST_OK, ""},
		{"", "", "", INGEST_OK, ""},
		{"Application/X-Protobuf", "SNAPPY", "1.0", INGEST_OK, ""},
		{"application/x-protobuf;proto=prometheus.WriteRequest", "snappy", "2.0.0", INGEST_OK, ""},
		{" application/x-protobuf ; charset=binary", " snappy ", NULL, INGEST_OK, ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ingest_outcome o = ingest_ctx_remote_write(f->cx, cases[i].ct, cases[i].enc, cases[i].ver, b, n, &f->res);
		if (o != cases[i].want)
			fail_msg("case %zu: outcome %s, want %s (%s)", i, ingest_outcome_name(o),
				 ingest_outcome_name(cases[i].want), f->res.message);
		assert_contains(f->res.message, cases[i].msg);
		if (o == INGEST_UNSUPPORTED_MEDIA_TYPE)
			assert_int_equal(ingest_outcome_http_status(o), 415);
	}
	tsdb_sample out[2];
	assert_int_equal(itest_samples(f->db, out, 2, "__name__", "hdr", NULL), 1);
}

static void test_ctx_reuse_many_requests(void **state)
{
	fx *f = *state;
	for (int r = 0; r < 50; r++) {
		reset_req(f);
		for (int s = 0; s < 20; s++) {
			char inst[16];
			snprintf(inst, sizeof inst, "i%d", s);
			itest_series(&f->r, "__name__", "reuse", "instance", inst, NULL);
			itest_sample(&f->r, NOW + r * 1000, r * s);
		}
		assert_int_equal(send(f), INGEST_OK);
		assert_int_equal(f->res.samples_stored, 20);
	}
	tsdb_sample out[64];
	assert_int_equal(itest_samples(f->db, out, 64, "__name__", "reuse", "instance", "i7", NULL), 50);
	assert_true(out[49].v == 49 * 7);
}

static void test_one_shot_wrapper(void **state)
{
	fx *f = *state;
	slod_clock sys = slod_clock_system();
	int64_t t = slod_clock_now(&sys);
	itest_series(&f->r, "__name__", "oneshot", NULL);
	itest_sample(&f->r, t, 1);
	itest_sample(&f->r, t + 3600 * 1000, 2); /* an hour ahead: refused by the default future limit */
	buf_reset(&f->body);
	itest_encode(&f->r, &f->body);
	ingest_result res;
	assert_int_equal(ingest_remote_write(f->db, NULL, CT, "snappy", "0.1.0", f->body.data, f->body.len, &res),
			 INGEST_BAD_REQUEST);
	assert_int_equal(res.samples_stored, 1);
	assert_int_equal(res.too_far_future, 1);
	assert_int_equal(ingest_remote_write(f->db, NULL, "text/plain", NULL, NULL, "", 0, &res),
			 INGEST_UNSUPPORTED_MEDIA_TYPE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_request_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsorted_labels_canonicalised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_label_rejected_rest_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_labels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metric_name_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_in_value_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_agrees_with_labels_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_label_value_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_nan_bits_preserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_dropped_quietly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_timestamp_different_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_far_in_future, setup, teardown),
		cmocka_unit_test(test_too_old_with_retention),
		cmocka_unit_test(test_out_of_order_window),
		cmocka_unit_test_setup_teardown(test_exemplars_histograms_metadata_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_snappy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_protobuf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_request_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_compressed_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_declared_1gib_fails_fast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_series_and_label_limits, setup, teardown),
		cmocka_unit_test(test_tsdb_series_limit),
		cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctx_reuse_many_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_shot_wrapper, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
