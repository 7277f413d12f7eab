/*
 * test_remote_write2.c — ingest.remote_write2: remote-write 2.0 (io.prometheus.write.v2.Request)
 * requests built with the protobuf-c encoder generated from ingest/prompb/write_v2.proto + snappy,
 * run into an in-memory tsdb and read back through the querier. Every 2.0 validation error, the
 * partial-failure policy, the Written counts behind the response headers, stale-NaN bits and the
 * content negotiation between 1.0 and 2.0.
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

#include "ingest/ingest.h"
#include "ingest_test_util.h"
#include "rw2_test_util.h"

#define NOW 1700000000000LL
#define CT2 "application/x-protobuf;proto=io.prometheus.write.v2.Request"
#define STALE_NAN_BITS 0x7ff0000000000002ULL

typedef struct fx {
	tsdb *db;
	ingest_ctx *cx;
	int64_t now;
	slod_clock clock;
	ingest_limits lim;
	rw2b *b;
	buf body;
	ingest_result res;
} fx;

static fx *fx_new(const ingest_limits *lim)
{
	fx *f = calloc(1, sizeof(*f));
	f->db = itest_open(0, 0);
	f->now = NOW;
	f->clock = slod_clock_manual(&f->now);
	if (lim)
		f->lim = *lim;
	else
		ingest_limits_default(&f->lim);
	f->cx = ingest_ctx_new(f->db, &f->lim, &f->clock);
	assert_non_null(f->cx);
	f->b = rw2b_new();
	buf_init(&f->body, 0);
	return f;
}

static int setup(void **state)
{
	*state = fx_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	ingest_ctx_free(f->cx);
	tsdb_close(f->db);
	rw2b_free(f->b);
	buf_deinit(&f->body);
	free(f);
	return 0;
}

static void reset_req(fx *f)
{
	rw2b_free(f->b);
	f->b = rw2b_new();
}

/* Encodes f->b and sends it with the 2.0 headers. */
static ingest_outcome send2(fx *f)
{
	buf_reset(&f->body);
	rw2b_encode(f->b, &f->body);
	return ingest_ctx_remote_write(f->cx, CT2, "snappy", "2.0.0", f->body.data, f->body.len, &f->res);
}

/* Sends an uncompressed, possibly hand-made, body through the snappy path. */
static ingest_outcome send_raw(fx *f, const buf *pb)
{
	buf_reset(&f->body);
	assert_int_equal(ingest_snappy_compress(pb->data ? pb->data : "", pb->len, &f->body), 0);
	return ingest_ctx_remote_write(f->cx, CT2, "snappy", "2.0.0", f->body.data, f->body.len, &f->res);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* A valid series {__name__="good", i="<i>"} with one sample at NOW - 1000 + i. */
static void good_series(fx *f, int i)
{
	char v[16];
	snprintf(v, sizeof v, "%d", i);
	rw2b_series(f->b, "__name__", "good", "i", v, NULL);
	rw2b_sample(f->b, NOW - 1000 + i, i + 0.25);
}

static void test_valid_request_stored(void **state)
{
	fx *f = *state;
	for (int s = 0; s < 3; s++) {
		char inst[16];
		snprintf(inst, sizeof inst, "host%d", s);
		rw2b_series(f->b, "__name__", "http_requests_total", "instance", inst, "job", "api", NULL);
		rw2b_metadata(f->b, 1, "Requests served.", "");
		for (int k = 0; k < 5; k++)
			rw2b_sample(f->b, NOW - 5000 + k * 1000, s * 100 + k + 0.5);
	}
	/* symbols are shared: "", the 3 names, 2 values + 3 instances, help */
	assert_int_equal(f->b->req.n_symbols, 10);
	assert_int_equal(send2(f), INGEST_OK);
	assert_int_equal(ingest_outcome_http_status(f->res.outcome), 204);
	assert_string_equal(f->res.message, "");
	assert_true(f->res.written_headers);
	assert_int_equal(f->res.series, 3);
	assert_int_equal(f->res.samples, 15);
	assert_int_equal(f->res.samples_stored, 15);
	assert_int_equal(f->res.samples_written, 15);
	assert_int_equal(f->res.histograms_written, 0);
	assert_int_equal(f->res.exemplars_written, 0);
	assert_int_equal(f->res.metadata_ignored, 3);
	assert_int_equal(itest_count_series(f->db, "http_requests_total"), 3);
	tsdb_sample out[8];
	long n = itest_samples(f->db, out, 8, "__name__", "http_requests_total", "instance", "host2", "job",
			       "api", NULL);
	assert_int_equal(n, 5);
	for (int k = 0; k < 5; k++) {
		assert_int_equal(out[k].t, NOW - 5000 + k * 1000);
		assert_true(out[k].v == 200 + k + 0.5);
	}
}

static void test_uncompressed_entry_point(void **state)
{
	fx *f = *state;
	good_series(f, 1);
	good_series(f, 2);
	buf pb;
	buf_init(&pb, 0);
	rw2b_pack(f->b, &pb);
	assert_int_equal(ingest_ctx_write_request_v2_pb(f->cx, pb.data, pb.len, &f->res), INGEST_OK);
	assert_true(f->res.written_headers);
	assert_int_equal(f->res.samples_written, 2);
	assert_int_equal(itest_count_series(f->db, "good"), 2);
	buf_deinit(&pb);
}

static void test_stale_nan_bits_kept(void **state)
{
	fx *f = *state;
	rw2b_series(f->b, "__name__", "up", "job", "a", NULL);
	rw2b_sample(f->b, NOW - 2000, 1);
	rw2b_sample(f->b, NOW - 1000, itest_from_bits(STALE_NAN_BITS));
	rw2b_sample(f->b, NOW, itest_from_bits(0x7ff8000000000001ULL));
	assert_int_equal(send2(f), INGEST_OK);
	tsdb_sample out[4];
	assert_int_equal(itest_samples(f->db, out, 4, "__name__", "up", "job", "a", NULL), 3);
	assert_true(out[0].v == 1);
	assert_int_equal(itest_bits(out[1].v), STALE_NAN_BITS);
	assert_int_equal(itest_bits(out[2].v), 0x7ff8000000000001ULL);
}

static void test_content_negotiation(void **state)
{
	fx *f = *state;
	good_series(f, 7);
	buf_reset(&f->body);
	rw2b_encode(f->b, &f->body);
	/* 2.0 content types (quoted, spaced, case-insensitive), any version header */
	static const char *const cts[] = {CT2,
					  "application/x-protobuf; proto=\"io.prometheus.write.v2.Request\"",
					  "Application/X-Protobuf ; Proto=io.prometheus.write.v2.Request"};
	for (size_t i = 0; i < 3; i++) {
		ingest_outcome o =
		    ingest_ctx_remote_write(f->cx, cts[i], i ? NULL : "snappy", i == 1 ? NULL : "2.0.0",
					    f->body.data, f->body.len, &f->res);
		if (o != INGEST_OK)
			fail_msg("case %zu: %s", i, f->res.message);
		assert_true(f->res.written_headers);
		assert_int_equal(f->res.series, 1);
		assert_int_equal(f->res.samples_written,
				 1); /* a duplicate after the first: written all the same */
	}
	tsdb_sample out[2];
	assert_int_equal(itest_samples(f->db, out, 2, "__name__", "good", "i", "7", NULL), 1);
	/* the same 2.0 body read as 1.0 (content type says so): reserved fields → an empty WriteRequest */
	assert_int_equal(ingest_ctx_remote_write(f->cx, "application/x-protobuf", "snappy", "0.1.0",
						 f->body.data, f->body.len, &f->res),
			 INGEST_OK);
	assert_false(f->res.written_headers);
	assert_int_equal(f->res.series, 0);
	/* 2.x version with no proto= parameter stays 415 (it would be read as 1.0 and lose everything) */
	assert_int_equal(ingest_ctx_remote_write(f->cx, "application/x-protobuf", "snappy", "2.0.0",
						 f->body.data, f->body.len, &f->res),
			 INGEST_UNSUPPORTED_MEDIA_TYPE);
	assert_contains(f->res.message, "proto=io.prometheus.write.v2.Request");
	assert_false(f->res.written_headers);
	/* wrong encoding for a 2.0 request: 415, no Written headers (negotiation failed) */
	assert_int_equal(
	    ingest_ctx_remote_write(f->cx, CT2, "zstd", "2.0.0", f->body.data, f->body.len, &f->res),
	    INGEST_UNSUPPORTED_MEDIA_TYPE);
	assert_false(f->res.written_headers);
	assert_int_equal(
	    ingest_ctx_remote_write(f->cx, "application/x-protobuf;proto=io.prometheus.write.v3.Request",
				    "snappy", NULL, f->body.data, f->body.len, &f->res),
	    INGEST_UNSUPPORTED_MEDIA_TYPE);
	assert_contains(f->res.message, "unsupported protobuf message");
}

static void test_symbols_table_rules(void **state)
{
	fx *f = *state;
	/* first symbol not "": the whole request is refused, nothing stored */
	buf pb;
	buf_init(&pb, 0);
	rw2_put_bytes(&pb, 4, "x", 1);
	rw2_put_bytes(&pb, 4, "__name__", 8);
	rw2_put_bytes(&pb, 4, "m", 1);
	buf ts;
	buf_init(&ts, 0);
	const uint8_t series[] = {0x0a, 0x02, 0x01, 0x02, 0x12, 0x0b, 0x09, 0,	 0,
				  0,	0,    0,    0,	  0xf0, 0x3f, 0x10, 0x01};
	buf_append(&ts, series, sizeof series);
	rw2_put_bytes(&pb, 5, ts.data, ts.len);
	assert_int_equal(send_raw(f, &pb), INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "symbols: the first symbol must be the empty string");
	assert_true(f->res.written_headers);
	assert_int_equal(f->res.samples_written, 0);
	assert_int_equal(itest_count_series(f->db, ""), 0);
	/* no symbols at all but a series */
	buf_reset(&pb);
	rw2_put_bytes(&pb, 5, ts.data, ts.len);
	assert_int_equal(send_raw(f, &pb), INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "symbols table is missing");
	/* the same series with a proper table is stored: {__name__="m"} 1 @1 */
	buf_reset(&pb);
	rw2_put_bytes(&pb, 4, "", 0);
	rw2_put_bytes(&pb, 4, "__name__", 8);
	rw2_put_bytes(&pb, 4, "m", 1);
	rw2_put_bytes(&pb, 5, ts.data, ts.len);
	f->now = 1;
	assert_int_equal(send_raw(f, &pb), INGEST_OK);
	tsdb_sample out[2];
	assert_int_equal(itest_samples(f->db, out, 2, "__name__", "m", NULL), 1);
	assert_int_equal(out[0].t, 1);
	assert_true(out[0].v == 1.0);
	/* an empty request (no symbols, no series) is fine */
	buf_reset(&pb);
	assert_int_equal(send_raw(f, &pb), INGEST_OK);
	assert_true(f->res.written_headers);
	assert_int_equal(f->res.samples_written, 0);
	buf_deinit(&pb);
	buf_deinit(&ts);
}

/* One bad series among good ones: the good ones are stored, 400 with the reason, Written counts
 * only the good samples. */
static void expect_partial(fx *f, const char *reason)
{
	ingest_outcome o = send2(f);
	if (o != INGEST_BAD_REQUEST)
		fail_msg("outcome %s (%s), want bad_request with \"%s\"", ingest_outcome_name(o),
			 f->res.message, reason);
	assert_contains(f->res.message, reason);
	assert_contains(f->res.message, "rejected 1 of 3 series");
	assert_non_null(strchr(f->res.message, '('));
	assert_null(strchr(f->res.message, '\n'));
	assert_true(f->res.written_headers);
	assert_int_equal(f->res.rejected_series, 1);
	assert_int_equal(f->res.rejected_invalid_labels, 2);
	assert_int_equal(f->res.samples_stored + f->res.duplicates_dropped,
			 2); /* repeats are quiet duplicates */
	assert_int_equal(f->res.samples_written, 2);
	assert_int_equal(itest_count_series(f->db, "good"), 2);
	assert_int_equal(itest_count_series(f->db, "bad"), 0);
}

/* Starts the bad series (between two good ones) with the given labels; two samples. */
#define BAD_SERIES(f, ...)                                                                                   \
	do {                                                                                                 \
		good_series(f, 1);                                                                           \
		rw2b_series((f)->b, __VA_ARGS__);                                                            \
	} while (0)
static void bad_end(fx *f)
{
	rw2b_sample(f->b, NOW - 10, 1);
	rw2b_sample(f->b, NOW - 5, 2);
	good_series(f, 2);
}

static void test_ref_out_of_range(void **state)
{
	fx *f = *state;
	BAD_SERIES(f, "__name__", "bad", NULL);
	rw2b_ref(f->b, 1);  /* a name that exists ... */
	rw2b_ref(f->b, 99); /* ... and a value ref past the table */
	bad_end(f);
	expect_partial(f, "label ref 99 out of range");
}

static void test_odd_number_of_refs(void **state)
{
	fx *f = *state;
	BAD_SERIES(f, "__name__", "bad", NULL);
	rw2b_ref(f->b, 1);
	bad_end(f);
	expect_partial(f, "odd number of label refs (3)");
}

static void test_labels_not_sorted(void **state)
{
	fx *f = *state;
	BAD_SERIES(f, "job", "x", "__name__", "bad", NULL);
	bad_end(f);
	expect_partial(f, "label names not sorted (\"__name__\" out of place)");
}

static void test_duplicate_label_name(void **state)
{
	fx *f = *state;
	BAD_SERIES(f, "__name__", "bad", "job", "a", "job", "b", NULL);
	bad_end(f);
	expect_partial(f, "duplicate label name \"job\"");
}

static void test_empty_label_value(void **state)
{
	fx *f = *state;
	BAD_SERIES(f, "__name__", "bad", "job", "", NULL);
	bad_end(f);
	expect_partial(f, "empty value of label \"job\"");
}

static void test_empty_label_name(void **state)
{
	fx *f = *state;
	BAD_SERIES(f, "", "x", "__name__", "bad", NULL);
	bad_end(f);
	expect_partial(f, "empty label name");
}

static void test_missing_metric_name(void **state)
{
	fx *f = *state;
	BAD_SERIES(f, "job", "bad", NULL);
	bad_end(f);
	expect_partial(f, "missing metric name (__name__)");
}

static void test_invalid_names(void **state)
{
	fx *f = *state;
	BAD_SERIES(f, "__name__", "bad", "a-b", "x", NULL);
	bad_end(f);
	expect_partial(f, "invalid label name \"a-b\"");
	reset_req(f);
	BAD_SERIES(f, "__name__", "9bad", NULL);
	bad_end(f);
	ingest_outcome o = send2(f);
	assert_int_equal(o, INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "invalid metric name \"9bad\"");
}

static void test_invalid_utf8_and_nul(void **state)
{
	fx *f = *state;
	BAD_SERIES(f, "__name__", "bad", "v", "\xff\xfe", NULL);
	bad_end(f);
	expect_partial(f, "invalid UTF-8 in value of label \"v\"");
	/* a NUL inside a symbol (hand-appended: the generated encoder takes C strings) */
	reset_req(f);
	good_series(f, 1);
	rw2b_series(f->b, "__name__", "bad", NULL);
	uint32_t v = rw2b_sym(f->b, "v");
	rw2b_sym(f->b, "2"); /* good_series(f, 2)'s value, interned before the raw symbol's index is taken */
	rw2b_ref(f->b, v);
	rw2b_ref(f->b, (uint32_t)f->b->req.n_symbols); /* the symbol appended below */
	bad_end(f);
	buf pb;
	buf_init(&pb, 0);
	rw2b_pack(f->b, &pb);
	rw2_put_bytes(&pb, 4, "a\0b", 3);
	assert_int_equal(send_raw(f, &pb), INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "NUL byte in value of label \"v\"");
	assert_int_equal(f->res.rejected_series, 1);
	assert_int_equal(f->res.samples_written, 2);
	buf_deinit(&pb);
}

static void test_too_many_labels(void **state)
{
	(void)state;
	ingest_limits lim;
	ingest_limits_default(&lim);
	lim.max_labels_per_series = 3;
	fx *f = fx_new(&lim);
	BAD_SERIES(f, "__name__", "bad", "a", "1", "b", "2", "c", "3", NULL);
	bad_end(f);
	expect_partial(f, "too many labels (4, limit 3)");
	void *st = f;
	teardown(&st);
}

static void test_label_length_limits(void **state)
{
	(void)state;
	ingest_limits lim;
	ingest_limits_default(&lim);
	lim.max_label_value_len = 4;
	fx *f = fx_new(&lim);
	BAD_SERIES(f, "__name__", "bad", "a", "12345", NULL);
	bad_end(f);
	expect_partial(f, "value of label \"a\" (5 bytes) exceeds the limit of 4");
	void *st = f;
	teardown(&st);
}

static void test_exemplar_refs(void **state)
{
	fx *f = *state;
	BAD_SERIES(f, "__name__", "bad", NULL);
	rw2b_exemplar(f->b, NOW, 1, NULL, NULL);
	rw2b_exemplar_ref(f->b, 200);
	rw2b_exemplar_ref(f->b, 0);
	bad_end(f);
	expect_partial(f, "exemplar label ref 200 out of range");
	reset_req(f);
	BAD_SERIES(f, "__name__", "bad", NULL);
	rw2b_exemplar(f->b, NOW, 1, NULL, NULL);
	rw2b_exemplar_ref(f->b, 1);
	bad_end(f);
	expect_partial(f, "odd number of exemplar label refs");
}

static void test_metadata_refs(void **state)
{
	fx *f = *state;
	BAD_SERIES(f, "__name__", "bad", NULL);
	rw2b_metadata(f->b, 2, "help", "");
	f->b->md[f->b->req.n_timeseries - 1].unit_ref = 77;
	bad_end(f);
	expect_partial(f, "metadata unit_ref 77 out of range");
}

static void test_samples_and_histograms_in_one_series(void **state)
{
	fx *f = *state;
	BAD_SERIES(f, "__name__", "bad", NULL);
	rw2b_histogram(f->b, NOW - 20, 3);
	bad_end(f);
	expect_partial(f, "samples and native histograms in one TimeSeries");
	assert_int_equal(f->res.histograms_ignored, 1);
	assert_int_equal(f->res.histograms_written, 0);
}

static void test_histograms_and_exemplars_accepted_not_written(void **state)
{
	fx *f = *state;
	rw2b_series(f->b, "__name__", "latency_seconds", "job", "a", NULL);
	rw2b_metadata(f->b, 3, "Latency.", "seconds");
	rw2b_histogram(f->b, NOW - 2000, 10);
	rw2b_histogram(f->b, NOW - 1000, 12);
	rw2b_series(f->b, "__name__", "requests_total", "job", "a", NULL);
	rw2b_sample(f->b, NOW - 1000, 5);
	rw2b_exemplar(f->b, NOW - 1000, 0.3, "trace_id", "abc123");
	f->b->ts[1].created_timestamp = NOW - 100000;
	f->b->smp[1][0].start_timestamp = NOW - 100000;
	assert_int_equal(send2(f), INGEST_OK);
	assert_int_equal(ingest_outcome_http_status(f->res.outcome), 204);
	assert_int_equal(f->res.series, 2);
	assert_int_equal(f->res.samples, 1);
	assert_int_equal(f->res.samples_written, 1);
	assert_int_equal(f->res.histograms_ignored, 2);
	assert_int_equal(f->res.histograms_written, 0);
	assert_int_equal(f->res.exemplars_ignored, 1);
	assert_int_equal(f->res.exemplars_written, 0);
	assert_int_equal(itest_count_series(f->db, "latency_seconds"), 0);
	assert_int_equal(itest_count_series(f->db, "requests_total"), 1);
}

static void test_sample_rejections_partial(void **state)
{
	fx *f = *state;
	rw2b_series(f->b, "__name__", "m", NULL);
	rw2b_sample(f->b, NOW - 1000, 1);
	assert_int_equal(send2(f), INGEST_OK);
	reset_req(f);
	/* same (t, v): a quiet duplicate, written; older: out of order; same t other v; future */
	rw2b_series(f->b, "__name__", "m", NULL);
	rw2b_sample(f->b, NOW - 1000, 1);
	rw2b_series(f->b, "__name__", "m", "x", "y", NULL);
	rw2b_sample(f->b, NOW - 500, 3);
	rw2b_sample(f->b, NOW + 3600 * 1000, 4);
	assert_int_equal(send2(f), INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "1 samples too far in the future");
	assert_int_equal(f->res.duplicates_dropped, 1);
	assert_int_equal(f->res.samples_stored, 1);
	assert_int_equal(f->res.samples_written, 2);
	assert_int_equal(f->res.too_far_future, 1);
	reset_req(f);
	rw2b_series(f->b, "__name__", "m", NULL);
	rw2b_sample(f->b, NOW - 1000, 9);
	rw2b_sample(f->b, NOW - 2000, 9);
	assert_int_equal(send2(f), INGEST_BAD_REQUEST);
	assert_int_equal(f->res.duplicate_timestamp, 1);
	assert_int_equal(f->res.out_of_order, 1);
	assert_int_equal(f->res.samples_written, 0);
}

static void test_unpacked_and_mixed_refs(void **state)
{
	fx *f = *state;
	/* symbols: "", __name__, m, job, a; refs 1,2 packed then 3 and 4 as unpacked varints */
	buf pb, ts;
	buf_init(&pb, 0);
	buf_init(&ts, 0);
	static const char *const syms[] = {"", "__name__", "m", "job", "a"};
	for (int i = 0; i < 5; i++)
		rw2_put_bytes(&pb, 4, syms[i], strlen(syms[i]));
	const uint8_t refs[] = {0x0a, 0x02, 0x01, 0x02, 0x08, 0x03, 0x08, 0x04};
	buf_append(&ts, refs, sizeof refs);
	const uint8_t smp[] = {0x12, 0x0b, 0x10, 0x05, 0x09, 0, 0, 0, 0, 0, 0, 0, 0x40}; /* t before v */
	buf_append(&ts, smp, sizeof smp);
	rw2_put_bytes(&pb, 5, ts.data, ts.len);
	f->now = 10;
	assert_int_equal(send_raw(f, &pb), INGEST_OK);
	tsdb_sample out[2];
	assert_int_equal(itest_samples(f->db, out, 2, "__name__", "m", "job", "a", NULL), 1);
	assert_int_equal(out[0].t, 5);
	assert_true(out[0].v == 2.0);
	buf_deinit(&pb);
	buf_deinit(&ts);
}

static void test_malformed_protobuf(void **state)
{
	fx *f = *state;
	good_series(f, 1);
	good_series(f, 2);
	buf pb;
	buf_init(&pb, 0);
	rw2b_pack(f->b, &pb);
	/* truncated: the last series claims more bytes than remain */
	pb.len -= 3;
	assert_int_equal(send_raw(f, &pb), INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "protobuf: field 5 of Request");
	assert_true(f->res.written_headers);
	assert_int_equal(f->res.samples_written, 0);
	assert_int_equal(itest_count_series(f->db, ""), 0);
	/* a symbol with the wrong wire type (varint) */
	buf_reset(&pb);
	const uint8_t wt[] = {0x20, 0x01};
	buf_append(&pb, wt, sizeof wt);
	assert_int_equal(send_raw(f, &pb), INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "field 4 of Request has wire type 0, expected 2");
	/* a truncated packed ref list inside a series */
	buf_reset(&pb);
	rw2_put_bytes(&pb, 4, "", 0);
	const uint8_t ser[] = {0x0a, 0x02, 0x01, 0x82};
	rw2_put_bytes(&pb, 5, ser, sizeof ser);
	assert_int_equal(send_raw(f, &pb), INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "truncated varint in packed field 1 of TimeSeries");
	/* labels_refs as fixed32 */
	buf_reset(&pb);
	rw2_put_bytes(&pb, 4, "", 0);
	const uint8_t ser2[] = {0x0d, 1, 0, 0, 0};
	rw2_put_bytes(&pb, 5, ser2, sizeof ser2);
	assert_int_equal(send_raw(f, &pb), INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "field 1 of TimeSeries has wire type 5, expected 0 or 2");
	/* corrupt snappy */
	assert_int_equal(
	    ingest_ctx_remote_write(f->cx, CT2, "snappy", "2.0.0", "\xff\xff\xff\xff\xff\x01", 6, &f->res),
	    INGEST_BAD_REQUEST);
	assert_contains(f->res.message, "snappy");
	assert_true(f->res.written_headers);
	buf_deinit(&pb);
}

static void test_limits(void **state)
{
	(void)state;
	ingest_limits lim;
	ingest_limits_default(&lim);
	lim.max_series = 2;
	lim.max_decompressed_bytes = 256; /* at most 32 symbols */
	fx *f = fx_new(&lim);
	good_series(f, 1);
	good_series(f, 2);
	good_series(f, 3);
	assert_int_equal(send2(f), INGEST_TOO_LARGE);
	assert_contains(f->res.message, "3 series in one request exceed the limit of 2");
	assert_true(f->res.written_headers);
	assert_int_equal(f->res.samples_written, 0);
	reset_req(f);
	for (int i = 0; i < 40; i++) {
		char s[8];
		snprintf(s, sizeof s, "s%d", i);
		rw2b_sym(f->b, s);
	}
	assert_int_equal(send2(f), INGEST_TOO_LARGE);
	assert_contains(f->res.message, "41 symbols in one request exceed the limit of 32");
	assert_int_equal(itest_count_series(f->db, ""), 0);
	void *st = f;
	teardown(&st);
}

static void test_one_point_zero_has_no_written_headers(void **state)
{
	fx *f = *state;
	itest_req r;
	itest_req_init(&r);
	itest_series(&r, "__name__", "v1", NULL);
	itest_sample(&r, NOW, 1);
	buf_reset(&f->body);
	itest_encode(&r, &f->body);
	assert_int_equal(ingest_ctx_remote_write(f->cx, "application/x-protobuf", "snappy", "0.1.0",
						 f->body.data, f->body.len, &f->res),
			 INGEST_OK);
	assert_false(f->res.written_headers);
	itest_req_deinit(&r);
}

static void test_ctx_reuse_and_symbol_growth(void **state)
{
	fx *f = *state;
	/* grow the symbol table past its first allocation, then reuse the context for small ones */
	for (int s = 0; s < 60; s++) {
		char a[16], b2[16];
		snprintf(a, sizeof a, "l%02d", s);
		snprintf(b2, sizeof b2, "v%d", s);
		rw2b_series(f->b, "__name__", "wide", a, b2, NULL);
		rw2b_sample(f->b, NOW - 100, s);
	}
	for (int i = 0; i < 120; i++) {
		char s[8];
		snprintf(s, sizeof s, "x%d", i);
		rw2b_sym(f->b, s);
	}
	assert_true(f->b->req.n_symbols > 200);
	assert_int_equal(send2(f), INGEST_OK);
	assert_int_equal(f->res.samples_written, 60);
	assert_int_equal(itest_count_series(f->db, "wide"), 60);
	for (int r = 0; r < 20; r++) {
		reset_req(f);
		good_series(f, r);
		assert_int_equal(send2(f), INGEST_OK);
		assert_int_equal(f->res.samples_written, 1);
	}
	assert_int_equal(itest_count_series(f->db, "good"), 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_valid_request_stored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uncompressed_entry_point, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_nan_bits_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_content_negotiation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symbols_table_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ref_out_of_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_odd_number_of_refs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_labels_not_sorted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_label_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_label_value, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_label_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_metric_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_utf8_and_nul, setup, teardown),
	    cmocka_unit_test(test_too_many_labels),
	    cmocka_unit_test(test_label_length_limits),
	    cmocka_unit_test_setup_teardown(test_exemplar_refs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metadata_refs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_samples_and_histograms_in_one_series, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_histograms_and_exemplars_accepted_not_written, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sample_rejections_partial, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpacked_and_mixed_refs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_protobuf, setup, teardown),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test_setup_teardown(test_one_point_zero_has_no_written_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctx_reuse_and_symbol_growth, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
