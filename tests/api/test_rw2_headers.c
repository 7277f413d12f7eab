/* api.rw2_headers: POST /api/v1/write with remote-write 2.0 bodies (built with ingest's generated
 * write_v2 encoder) against a real server on an ephemeral port: the three
 * X-Prometheus-Remote-Write-*-Written headers on 204, on a partial 400 and on a malformed 400; none
 * on 1.0 answers or a 415 (failed content negotiation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/api.h"
#include "http_client.h"
#include "ingest/ingest.h"
#include "ingest/prompb/remote.pb-c.h"
#include "ingest/prompb/write_v2.pb-c.h"
#include "tsdb/tsdb.h"

#define T0 1700000000000LL
#define HDRS2                                                                                                \
	"Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request\r\nContent-Encoding: "    \
	"snappy\r\n"                                                                                         \
	"X-Prometheus-Remote-Write-Version: 2.0.0\r\n"

typedef struct fixture {
	api_server *srv;
	tsdb *db;
	uint16_t port;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	api_options o;
	api_options_default(&o);
	o.listen_address = "127.0.0.1:0";
	o.max_body_bytes = 64 * 1024;
	o.threads = 2;
	char err[256];
	assert_int_equal(api_server_start(&o, &f->srv, err, sizeof err), 0);
	f->port = api_server_port(f->srv);
	tsdb_options to;
	tsdb_options_default(&to);
	to.retention_ms = 0;
	assert_int_equal(tsdb_open(&to, &f->db, err, sizeof err), 0);
	api_backend be = {.db = f->db};
	assert_int_equal(api_server_set_backend(f->srv, &be), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	api_server_stop(f->srv);
	tsdb_close(f->db);
	free(f);
	return 0;
}

/* A 2.0 request: series k (0..nseries-1) = {__name__="m", k="<k>"} with one sample at T0 + t_off,
 * plus a native-histogram-only series and an exemplar on series 0. bad_ref adds a series whose
 * value ref is past the symbol table. */
static void build(buf *out, int nseries, int64_t t_off, bool bad_ref)
{
	char *syms[16] = {"", "__name__", "m", "k", "0", "1", "2", "3", "trace_id", "abc", "h"};
	Io__Prometheus__Write__V2__Request rq = IO__PROMETHEUS__WRITE__V2__REQUEST__INIT;
	rq.symbols = syms;
	rq.n_symbols = 11;
	Io__Prometheus__Write__V2__TimeSeries ts[8], *tsp[8];
	Io__Prometheus__Write__V2__Sample smp[8], *smpp[8];
	uint32_t refs[8][4];
	Io__Prometheus__Write__V2__Exemplar ex = IO__PROMETHEUS__WRITE__V2__EXEMPLAR__INIT, *exp_ = &ex;
	uint32_t exrefs[2] = {8, 9};
	Io__Prometheus__Write__V2__Histogram h = IO__PROMETHEUS__WRITE__V2__HISTOGRAM__INIT, *hp = &h;
	size_t n = 0;
	for (int k = 0; k < nseries + (bad_ref ? 1 : 0); k++, n++) {
		io__prometheus__write__v2__time_series__init(&ts[n]);
		refs[n][0] = 1;
		refs[n][1] = 2;
		refs[n][2] = 3;
		refs[n][3] = k < nseries ? (uint32_t)(4 + k) : 42;
		ts[n].labels_refs = refs[n];
		ts[n].n_labels_refs = 4;
		io__prometheus__write__v2__sample__init(&smp[n]);
		smp[n].timestamp = T0 + t_off;
		smp[n].value = k;
		smpp[n] = &smp[n];
		ts[n].samples = &smpp[n];
		ts[n].n_samples = 1;
		tsp[n] = &ts[n];
	}
	ex.labels_refs = exrefs;
	ex.n_labels_refs = 2;
	ex.value = 0.5;
	ex.timestamp = T0 + t_off;
	ts[0].exemplars = &exp_;
	ts[0].n_exemplars = 1;
	static uint32_t hrefs[2] = {1, 10};
	io__prometheus__write__v2__time_series__init(&ts[n]);
	ts[n].labels_refs = hrefs;
	ts[n].n_labels_refs = 2;
	h.timestamp = T0 + t_off;
	h.count_case = IO__PROMETHEUS__WRITE__V2__HISTOGRAM__COUNT_COUNT_INT;
	h.count_int = 4;
	ts[n].histograms = &hp;
	ts[n].n_histograms = 1;
	tsp[n] = &ts[n];
	n++;
	rq.timeseries = tsp;
	rq.n_timeseries = n;
	assert_int_equal(ingest_encode_write_request_v2(&rq, out), 0);
}

static void expect_written(const http_resp *r, const char *samples)
{
	char v[32];
	assert_int_equal(http_resp_header(r, "X-Prometheus-Remote-Write-Samples-Written", v, sizeof v), 0);
	assert_string_equal(v, samples);
	assert_int_equal(http_resp_header(r, "X-Prometheus-Remote-Write-Histograms-Written", v, sizeof v), 0);
	assert_string_equal(v, "0");
	assert_int_equal(http_resp_header(r, "X-Prometheus-Remote-Write-Exemplars-Written", v, sizeof v), 0);
	assert_string_equal(v, "0");
}

static void expect_no_written(const http_resp *r)
{
	char v[32];
	assert_int_equal(http_resp_header(r, "X-Prometheus-Remote-Write-Samples-Written", v, sizeof v), -1);
	assert_int_equal(http_resp_header(r, "X-Prometheus-Remote-Write-Histograms-Written", v, sizeof v),
			 -1);
	assert_int_equal(http_resp_header(r, "X-Prometheus-Remote-Write-Exemplars-Written", v, sizeof v), -1);
}

static void test_written_headers(void **state)
{
	fixture *f = *state;
	buf body;
	buf_init(&body, 0);
	http_resp r;

	/* all good: 204, 3 samples written, the histogram and exemplar accepted but not written */
	build(&body, 3, 0, false);
	assert_int_equal(
	    http_request(f->port, "POST", "/api/v1/write", HDRS2, body.data, body.len, 10000, &r), 0);
	assert_int_equal(r.status, 204);
	expect_written(&r, "3");
	http_resp_free(&r);

	/* partial: 2 good series stored, one with a ref past the table rejected → 400 with the reason */
	buf_reset(&body);
	build(&body, 2, 1000, true);
	assert_int_equal(
	    http_request(f->port, "POST", "/api/v1/write", HDRS2, body.data, body.len, 10000, &r), 0);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "label ref 42 out of range (11 symbols)"));
	assert_non_null(strstr(r.body, "rejected 1 of 4 series"));
	expect_written(&r, "2");
	http_resp_free(&r);

	/* malformed after snappy: 400, nothing written, headers still there */
	buf_reset(&body);
	assert_int_equal(ingest_snappy_compress("\x2a\x05\x01", 3, &body), 0);
	assert_int_equal(
	    http_request(f->port, "POST", "/api/v1/write", HDRS2, body.data, body.len, 10000, &r), 0);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "protobuf:"));
	expect_written(&r, "0");
	http_resp_free(&r);

	/* 415 (unsupported encoding): no content negotiation, no Written headers */
	buf_reset(&body);
	build(&body, 1, 2000, false);
	assert_int_equal(
	    http_request(f->port, "POST", "/api/v1/write",
			 "Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request\r\n"
			 "Content-Encoding: zstd\r\n",
			 body.data, body.len, 10000, &r),
	    0);
	assert_int_equal(r.status, 415);
	expect_no_written(&r);
	http_resp_free(&r);

	/* 1.0 keeps answering without them */
	buf_reset(&body);
	Prometheus__WriteRequest w = PROMETHEUS__WRITE_REQUEST__INIT;
	Prometheus__TimeSeries t1 = PROMETHEUS__TIME_SERIES__INIT, *t1p = &t1;
	Prometheus__Label l = PROMETHEUS__LABEL__INIT, *lp = &l;
	Prometheus__Sample s1 = PROMETHEUS__SAMPLE__INIT, *s1p = &s1;
	l.name = "__name__";
	l.value = "v1";
	s1.timestamp = T0;
	s1.value = 1;
	t1.labels = &lp;
	t1.n_labels = 1;
	t1.samples = &s1p;
	t1.n_samples = 1;
	w.timeseries = &t1p;
	w.n_timeseries = 1;
	assert_int_equal(ingest_encode_write_request(&w, &body), 0);
	assert_int_equal(http_request(f->port, "POST", "/api/v1/write",
				      "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
				      "X-Prometheus-Remote-Write-Version: 0.1.0\r\n",
				      body.data, body.len, 10000, &r),
			 0);
	assert_int_equal(r.status, 204);
	expect_no_written(&r);
	http_resp_free(&r);
	buf_deinit(&body);

	/* what the 2.0 requests stored: m{k="0"}, m{k="1"}, m{k="2"}; no histogram series */
	assert_int_equal(
	    http_request(f->port, "GET", "/api/v1/series?match[]=m&match[]=h", NULL, NULL, 0, 10000, &r), 0);
	assert_int_equal(r.status, 200);
	int nm = 0;
	for (const char *p = r.body; (p = strstr(p, "\"__name__\":\"m\"")) != NULL; p++)
		nm++;
	assert_int_equal(nm, 3);
	assert_null(strstr(r.body, "\"h\""));
	http_resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_written_headers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
