/* Tests for the api server end to end: a real libmicrohttpd server on an ephemeral port with an
 * in-memory tsdb, driven over plain sockets (tests/api/http_client.c). Covers readiness, routing
 * (404/405), body limits (413), remote write and text import, the metadata routes with Prometheus's
 * semantics, export, status and /metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api.h"
#include "http_client.h"
#include "ingest/ingest.h"
#include "ingest/prompb/remote.pb-c.h"
#include "tsdb/tsdb.h"
#include "util/clock.h"

typedef struct fixture {
	api_server *srv;
	tsdb *db;
	uint16_t port;
} fixture;

static http_resp req(fixture *f, const char *method, const char *path, const char *headers, const char *body,
		     size_t len)
{
	http_resp r;
	http_request(f->port, method, path, headers, body, len, 10000, &r);
	return r;
}

static http_resp get(fixture *f, const char *path)
{
	return req(f, "GET", path, NULL, NULL, 0);
}

static http_resp post_form(fixture *f, const char *path, const char *form)
{
	return req(f, "POST", path, "Content-Type: application/x-www-form-urlencoded\r\n", form, strlen(form));
}

static void expect(http_resp r, int status, const char *body)
{
	if (r.status != status || (body && strcmp(r.body ? r.body : "", body) != 0))
		fprintf(stderr, "got %d: %s\nwant %d: %s\n", r.status, r.body ? r.body : "(null)", status,
			body ? body : "(any)");
	assert_int_equal(r.status, status);
	if (body)
		assert_string_equal(r.body, body);
	http_resp_free(&r);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	api_options o;
	api_options_default(&o);
	o.listen_address = "127.0.0.1:0";
	o.max_body_bytes = 64 * 1024;
	o.threads = 2;
	o.version = "9.9.9-test";
	char err[256];
	assert_int_equal(api_server_start(&o, &f->srv, err, sizeof err), 0);
	f->port = api_server_port(f->srv);
	assert_true(f->port > 0);
	*state = f;
	return 0;
}

static void make_ready(fixture *f)
{
	tsdb_options to;
	tsdb_options_default(&to);
	to.retention_ms = 0;
	char err[256];
	assert_int_equal(tsdb_open(&to, &f->db, err, sizeof err), 0);
	api_backend be = {.db = f->db};
	assert_int_equal(api_server_set_backend(f->srv, &be), 0);
}

static int teardown(void **state)
{
	fixture *f = *state;
	api_server_stop(f->srv);
	tsdb_close(f->db);
	free(f);
	return 0;
}

static void import(fixture *f, const char *text)
{
	expect(req(f, "POST", "/api/v1/import/prometheus", "Content-Type: text/plain\r\n", text, strlen(text)), 204,
	       "");
}

static const char sample_text[] = "up{job=\"api\",instance=\"a:1\"} 1 1700000000000\n"
				  "up{job=\"api\",instance=\"b:1\"} 0 1700000000000\n"
				  "up{job=\"db\",instance=\"c:1\"} 1 1700000000000\n"
				  "http_requests_total{job=\"api\",code=\"200\"} 10 1700000000000\n"
				  "http_requests_total{job=\"api\",code=\"500\"} 2 1700000060000\n";

static void test_readiness_and_routing(void **state)
{
	fixture *f = *state;
	expect(get(f, "/-/healthy"), 200, "slod is Healthy.\n");
	expect(get(f, "/-/ready"), 503, "Service Unavailable\n");
	expect(get(f, "/api/v1/series?match[]=up"), 503, NULL);
	http_resp m = get(f, "/metrics");
	assert_int_equal(m.status, 200);
	assert_non_null(strstr(m.body, "slod_ready 0\n"));
	assert_null(strstr(m.body, "slod_tsdb_series"));
	http_resp_free(&m);
	expect(get(f, "/api/v1/status/buildinfo"), 200, NULL);

	make_ready(f);
	expect(get(f, "/-/ready"), 200, "slod is Ready.\n");
	expect(get(f, "/nope"), 404, "404 page not found\n");
	expect(get(f, "/api/v1/write"), 405, NULL);
	expect(req(f, "DELETE", "/api/v1/series", NULL, NULL, 0), 405, NULL);
	expect(req(f, "HEAD", "/-/healthy", NULL, NULL, 0), 200, NULL);

	http_resp b = get(f, "/api/v1/status/buildinfo");
	assert_int_equal(b.status, 200);
	assert_non_null(strstr(b.body, "{\"status\":\"success\",\"data\":{\"version\":\"9.9.9-test\""));
	char ct[128];
	assert_int_equal(http_resp_header(&b, "Content-Type", ct, sizeof ct), 0);
	assert_string_equal(ct, "application/json");
	http_resp_free(&b);
}

static void test_body_limit(void **state)
{
	fixture *f = *state;
	make_ready(f);
	size_t n = 200 * 1024;
	char *big = malloc(n);
	memset(big, 'a', n);
	http_resp r = req(f, "POST", "/api/v1/import/prometheus", "Content-Type: text/plain\r\n", big, n);
	assert_int_equal(r.status, 413);
	http_resp_free(&r);
	free(big);
	/* the server still works and counted it */
	http_resp m = get(f, "/metrics");
	assert_non_null(strstr(m.body, "slod_http_request_body_too_large_total 1\n"));
	http_resp_free(&m);
}

static void test_series(void **state)
{
	fixture *f = *state;
	make_ready(f);
	import(f, sample_text);
	expect(get(f, "/api/v1/series?match[]=up%7Bjob%3D%22api%22%7D"), 200,
	       "{\"status\":\"success\",\"data\":[{\"__name__\":\"up\",\"instance\":\"a:1\",\"job\":\"api\"},"
	       "{\"__name__\":\"up\",\"instance\":\"b:1\",\"job\":\"api\"}]}");
	/* union of two match[], sorted, duplicates removed; POST form works the same */
	const char *want = "{\"status\":\"success\",\"data\":["
			   "{\"__name__\":\"http_requests_total\",\"code\":\"500\",\"job\":\"api\"},"
			   "{\"__name__\":\"up\",\"instance\":\"c:1\",\"job\":\"db\"}]}";
	expect(get(f, "/api/v1/series?match[]=up{job=\"db\"}&match[]=http_requests_total{code=\"500\"}"
		      "&match[]=up{instance=\"c:1\"}"),
	       200, want);
	expect(post_form(f, "/api/v1/series",
			 "match%5B%5D=up%7Bjob%3D%22db%22%7D&match%5B%5D=http_requests_total%7Bcode%3D%22500%22%7D"),
	       200, want);
	/* time range: only the 500 series has a sample at 1700000060 */
	expect(get(f, "/api/v1/series?match[]=http_requests_total&start=1700000030&end=1700000090"), 200,
	       "{\"status\":\"success\",\"data\":[{\"__name__\":\"http_requests_total\",\"code\":\"500\",\"job\":\"api\"}]}");
	expect(get(f, "/api/v1/series?match[]=nothing_here"), 200, "{\"status\":\"success\",\"data\":[]}");
	/* limit truncates with a warning */
	expect(get(f, "/api/v1/series?match[]=up&limit=1"), 200,
	       "{\"status\":\"success\",\"data\":[{\"__name__\":\"up\",\"instance\":\"a:1\",\"job\":\"api\"}],"
	       "\"warnings\":[\"results truncated due to limit\"]}");
	/* errors */
	expect(get(f, "/api/v1/series"), 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"no match[] parameter provided\"}");
	expect(get(f, "/api/v1/series?match[]=%7Bjob%3D~%22.*%22%7D"), 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"match[]\\\": "
	       "match[] must contain at least one non-empty matcher\"}");
	expect(get(f, "/api/v1/series?match[]=up%7B"), 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"match[]\\\": "
	       "1:4: parse error: unexpected end of input inside braces\"}");
	expect(get(f, "/api/v1/series?match[]=up&start=yesterday"), 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"start\\\": Invalid "
	       "time value for 'start': cannot parse \\\"yesterday\\\" to a valid timestamp\"}");
	expect(get(f, "/api/v1/series?match[]=up&limit=x"), 400, NULL);
}

static void test_labels(void **state)
{
	fixture *f = *state;
	make_ready(f);
	import(f, sample_text);
	expect(get(f, "/api/v1/labels"), 200, "{\"status\":\"success\",\"data\":[\"__name__\",\"code\",\"instance\",\"job\"]}");
	expect(get(f, "/api/v1/labels?match[]=up"), 200, "{\"status\":\"success\",\"data\":[\"__name__\",\"instance\",\"job\"]}");
	expect(post_form(f, "/api/v1/labels", "match[]=http_requests_total&match[]=up{job=\"db\"}"), 200,
	       "{\"status\":\"success\",\"data\":[\"__name__\",\"code\",\"instance\",\"job\"]}");
	expect(get(f, "/api/v1/label/job/values"), 200, "{\"status\":\"success\",\"data\":[\"api\",\"db\"]}");
	expect(get(f, "/api/v1/label/__name__/values"), 200,
	       "{\"status\":\"success\",\"data\":[\"http_requests_total\",\"up\"]}");
	expect(get(f, "/api/v1/label/instance/values?match[]=up{job=\"api\"}"), 200,
	       "{\"status\":\"success\",\"data\":[\"a:1\",\"b:1\"]}");
	expect(get(f, "/api/v1/label/instance/values?match[]=up{job=\"api\"}&limit=1"), 200,
	       "{\"status\":\"success\",\"data\":[\"a:1\"],\"warnings\":[\"results truncated due to limit\"]}");
	expect(get(f, "/api/v1/label/nosuch/values"), 200, "{\"status\":\"success\",\"data\":[]}");
	expect(get(f, "/api/v1/label/bad-name/values"), 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid label name: \\\"bad-name\\\"\"}");
}

static void test_remote_write_and_export(void **state)
{
	fixture *f = *state;
	make_ready(f);
	Prometheus__Label l1 = PROMETHEUS__LABEL__INIT, l2 = PROMETHEUS__LABEL__INIT;
	l1.name = "__name__";
	l1.value = "rw_metric";
	l2.name = "job";
	l2.value = "pusher";
	Prometheus__Label *ls[] = {&l1, &l2};
	Prometheus__Sample s1 = PROMETHEUS__SAMPLE__INIT, s2 = PROMETHEUS__SAMPLE__INIT;
	s1.value = 1.5;
	s1.timestamp = 1700000000000;
	s2.value = 2.25;
	s2.timestamp = 1700000015000;
	Prometheus__Sample *ss[] = {&s1, &s2};
	Prometheus__TimeSeries ts = PROMETHEUS__TIME_SERIES__INIT;
	ts.n_labels = 2;
	ts.labels = ls;
	ts.n_samples = 2;
	ts.samples = ss;
	Prometheus__TimeSeries *tss[] = {&ts};
	Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
	wr.n_timeseries = 1;
	wr.timeseries = tss;
	buf body;
	buf_init(&body, 0);
	assert_int_equal(ingest_encode_write_request(&wr, &body), 0);
	const char *hdrs = "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
			   "X-Prometheus-Remote-Write-Version: 0.1.0\r\n";
	expect(req(f, "POST", "/api/v1/write", hdrs, body.data, body.len), 204, "");
	expect(req(f, "POST", "/api/v1/write", "Content-Type: application/x-protobuf\r\nContent-Encoding: gzip\r\n",
		   body.data, body.len),
	       415, NULL);
	http_resp bad = req(f, "POST", "/api/v1/write", hdrs, "garbage!", 8);
	assert_int_equal(bad.status, 400);
	assert_non_null(strchr(bad.body, '\n'));
	http_resp_free(&bad);
	buf_deinit(&body);

	expect(get(f, "/api/v1/export?match[]=rw_metric"), 200,
	       "{\"metric\":{\"__name__\":\"rw_metric\",\"job\":\"pusher\"},\"values\":[1.5,2.25],"
	       "\"timestamps\":[1700000000000,1700000015000]}\n");
	expect(get(f, "/api/v1/export?match[]=rw_metric&start=1700000010"), 200,
	       "{\"metric\":{\"__name__\":\"rw_metric\",\"job\":\"pusher\"},\"values\":[2.25],"
	       "\"timestamps\":[1700000015000]}\n");
	expect(get(f, "/api/v1/export"), 400, NULL);

	http_resp m = get(f, "/metrics");
	assert_int_equal(m.status, 200);
	assert_non_null(strstr(m.body, "slod_http_requests_total{code=\"204\",handler=\"/api/v1/write\"} 1\n"));
	assert_non_null(strstr(m.body, "slod_http_requests_total{code=\"415\",handler=\"/api/v1/write\"} 1\n"));
	assert_non_null(strstr(m.body, "slod_remote_write_requests_total{outcome=\"ok\"} 1\n"));
	assert_non_null(strstr(m.body, "slod_samples_ingested_total 2\n"));
	assert_non_null(strstr(m.body, "slod_tsdb_series 1\n"));
	assert_non_null(strstr(m.body, "slod_ready 1\n"));
	http_resp_free(&m);

	http_resp st = get(f, "/api/v1/status/tsdb");
	assert_int_equal(st.status, 200);
	assert_non_null(strstr(st.body, "\"headStats\":{\"numSeries\":1,"));
	assert_non_null(strstr(st.body, "\"seriesCountByMetricName\":[{\"name\":\"rw_metric\",\"value\":1}]"));
	assert_non_null(strstr(st.body, "\"bytesPerSample\":"));
	http_resp_free(&st);
}

static void test_query(void **state)
{
	fixture *f = *state;
	make_ready(f);
	import(f, sample_text);
	expect(get(f, "/api/v1/query?query=up%7Bjob%3D%22db%22%7D&time=1700000000"), 200,
	       "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
	       "{\"__name__\":\"up\",\"instance\":\"c:1\",\"job\":\"db\"},\"value\":[1700000000,\"1\"]}]}}");
	expect(post_form(f, "/api/v1/query", "query=1%2B1.5&time=1700000000.25"), 200,
	       "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1700000000.250,\"2.5\"]}}");
	expect(get(f, "/api/v1/query?query=%22hi%22&time=1700000000"), 200,
	       "{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[1700000000,\"hi\"]}}");
	expect(get(f, "/api/v1/query?query=up%5B1m%5D&time=1700000030"), 200, NULL);
	expect(get(f, "/api/v1/query_range?query=sum(http_requests_total)&start=1700000000&end=1700000060&step=30"),
	       200,
	       "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":"
	       "[[1700000000,\"10\"],[1700000030,\"10\"],[1700000060,\"12\"]]}]}}");
	/* errors and their codes */
	/* the texts Prometheus 2.42 answers for the same requests */
	expect(get(f, "/api/v1/query?query=sum(&time=1700000000"), 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"query\\\": 1:5: "
	       "parse error: unclosed left parenthesis\"}");
	expect(get(f, "/api/v1/query?query=rate(up)"), 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"query\\\": 1:6: "
	       "parse error: expected type range vector in call to function \\\"rate\\\", got instant vector\"}");
	expect(get(f, "/api/v1/query?query=up&time=soon"), 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"time\\\": Invalid "
	       "time value for 'time': cannot parse \\\"soon\\\" to a valid timestamp\"}");
	expect(get(f, "/api/v1/query_range?query=up&start=10&end=5&step=1"), 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"end\\\": end "
	       "timestamp must not be before start time\"}");
	expect(get(f, "/api/v1/query_range?query=up&start=0&end=5&step=0"), 400, NULL);
	expect(get(f, "/api/v1/query_range?query=up&start=0&end=5"), 400, NULL);
	expect(get(f, "/api/v1/query_range?query=up&start=0&end=100000&step=1"), 400, NULL);
	expect(get(f, "/api/v1/metadata"), 200, "{\"status\":\"success\",\"data\":{}}");
}

static void test_without_rules_and_slos(void **state)
{
	/* a backend without rules, SLO engine or notifier answers empty lists, not errors */
	fixture *f = *state;
	make_ready(f);
	expect(get(f, "/api/v1/rules"), 200, "{\"status\":\"success\",\"data\":{\"groups\":[]}}");
	expect(get(f, "/api/v1/rules?type=bogus"), 400, NULL);
	expect(get(f, "/api/v1/alerts"), 200, "{\"status\":\"success\",\"data\":{\"alerts\":[]}}");
	expect(get(f, "/api/v1/slos"), 200, "{\"status\":\"success\",\"data\":{\"evaluatedAt\":0,\"slos\":[]}}");
	expect(get(f, "/api/v1/slos/nope"), 404,
	       "{\"status\":\"error\",\"errorType\":\"not_found\",\"error\":\"SLO \\\"nope\\\" not found\"}");
	expect(get(f, "/api/v1/slos/nope/history"), 404, NULL);
	expect(get(f, "/api/v1/notifications"), 200, "{\"status\":\"success\",\"data\":[]}");
	http_resp ui = get(f, "/");
	assert_int_equal(ui.status, 200);
	char ct[128];
	assert_int_equal(http_resp_header(&ui, "Content-Type", ct, sizeof ct), 0);
	assert_non_null(strstr(ct, "text/html"));
	http_resp_free(&ui);
	expect(get(f, "/ui/nope.js"), 404, NULL);
}

typedef struct worker_arg {
	fixture *f;
	int id;
	int failures;
} worker_arg;

static void *worker(void *p)
{
	worker_arg *w = p;
	char text[256], path[128];
	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof text, "conc_total{worker=\"%d\"} %d %lld\n", w->id, i, 1700000000000LL + i * 1000);
		http_resp r = req(w->f, "POST", "/api/v1/import/prometheus", NULL, text, strlen(text));
		if (r.status != 204)
			w->failures++;
		http_resp_free(&r);
		snprintf(path, sizeof path, "/api/v1/series?match[]=conc_total%%7Bworker%%3D%%22%d%%22%%7D", w->id);
		r = get(w->f, path);
		if (r.status != 200 || !strstr(r.body, "conc_total"))
			w->failures++;
		http_resp_free(&r);
	}
	return NULL;
}

static void test_concurrent_clients(void **state)
{
	/* 8 clients write and read at once through the 2-thread pool: every request succeeds and every
	 * sample is stored exactly once */
	fixture *f = *state;
	make_ready(f);
	pthread_t th[8];
	worker_arg args[8];
	for (int i = 0; i < 8; i++) {
		args[i] = (worker_arg){f, i, 0};
		assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	http_resp r = get(f, "/api/v1/query?query=count_over_time(conc_total%5B1h%5D)&time=1700000100");
	assert_int_equal(r.status, 200);
	for (int i = 0; i < 8; i++) {
		char want[128];
		snprintf(want, sizeof want, "{\"metric\":{\"worker\":\"%d\"},\"value\":[1700000100,\"40\"]}", i);
		assert_non_null(strstr(r.body, want));
	}
	http_resp_free(&r);
	http_resp m = get(f, "/metrics");
	assert_non_null(strstr(m.body, "slod_import_requests_total{outcome=\"ok\"} 320\n"));
	assert_non_null(strstr(m.body, "slod_http_requests_total{code=\"200\",handler=\"/api/v1/series\"} 320\n"));
	assert_non_null(strstr(m.body, "slod_http_request_duration_seconds_count{handler=\"/api/v1/series\"} 320\n"));
	assert_non_null(strstr(m.body, "slod_http_request_duration_seconds_sum{handler=\"/api/v1/series\"} "));
	http_resp_free(&m);
}

static void test_query_timeout(void **state)
{
	/* a subquery of ~2.6 million steps takes far longer than 20 ms: the timeout parameter stops it
	 * with Prometheus's timeout error (503) */
	fixture *f = *state;
	make_ready(f);
	http_resp r = get(f, "/api/v1/query?query=count_over_time(vector(1)%5B30d:1s%5D)&time=1700000000&timeout=0.02");
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in "
				    "expression evaluation\"}");
	http_resp_free(&r);
	/* a generous timeout does not disturb a quick query */
	expect(get(f, "/api/v1/query?query=1&time=1700000000&timeout=30s"), 200,
	       "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1700000000,\"1\"]}}");
}

static void *slow_query(void *p)
{
	fixture *f = p;
	http_resp *r = malloc(sizeof *r);
	http_request(f->port, "GET", "/api/v1/query?query=count_over_time(vector(1)%5B1000d:1s%5D)&time=1700000000",
		     NULL, NULL, 0, 60000, r);
	return r;
}

static void test_stop_cancels_queries(void **state)
{
	/* stopping the server cancels a running query instead of waiting for it (SIGTERM path) */
	fixture *f = *state;
	make_ready(f);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, slow_query, f), 0);
	struct timespec ts = {0, 200 * 1000000L};
	nanosleep(&ts, NULL);
	int64_t t0 = slod_monotonic_ms();
	api_server_stop(f->srv);
	f->srv = NULL;
	int64_t took = slod_monotonic_ms() - t0;
	http_resp *r;
	pthread_join(th, (void **)&r);
	assert_true(took < 5000);
	assert_int_equal(r->status, 503);
	assert_non_null(strstr(r->body, "\"errorType\":\"canceled\""));
	http_resp_free(r);
	free(r);
}

/* Opens a connection and sends a POST's headers announcing len body bytes plus `part` of them. */
static int start_upload(uint16_t port, size_t len, size_t part)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	char head[256];
	int n = snprintf(head, sizeof head,
			 "POST /api/v1/import/prometheus HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 len);
	assert_int_equal(send(fd, head, (size_t)n, 0), n);
	char *body = malloc(part);
	memset(body, '#', part); /* comment lines: a valid text body */
	for (size_t i = 99; i < part; i += 100)
		body[i] = '\n';
	assert_int_equal(send(fd, body, part, 0), (ssize_t)part);
	free(body);
	return fd;
}

static int finish_upload(int fd, size_t rest)
{
	char *body = malloc(rest + 1);
	memset(body, '\n', rest);
	assert_int_equal(send(fd, body, rest, 0), (ssize_t)rest);
	free(body);
	char resp[512];
	ssize_t got = recv(fd, resp, sizeof resp - 1, MSG_WAITALL);
	close(fd);
	resp[got > 0 ? got : 0] = '\0';
	int status = 0;
	sscanf(resp, "HTTP/1.%*d %d", &status);
	return status;
}

static void test_body_budget(void **state)
{
	/* a server-wide budget bounds all request bodies held at once: past it, 503 (retryable) */
	fixture *f = *state;
	api_server_stop(f->srv);
	api_options o;
	api_options_default(&o);
	o.listen_address = "127.0.0.1:0";
	o.max_body_bytes = 64 * 1024;
	o.body_budget_bytes = 100 * 1024;
	char err[256];
	assert_int_equal(api_server_start(&o, &f->srv, err, sizeof err), 0);
	f->port = api_server_port(f->srv);
	make_ready(f);

	int a = start_upload(f->port, 60000, 1000);   /* holds 60000 bytes of budget */
	struct timespec ts = {0, 100 * 1000000L};
	nanosleep(&ts, NULL);
	http_resp b = req(f, "POST", "/api/v1/import/prometheus", NULL, "x 1\n", 4); /* small: fits */
	assert_int_equal(b.status, 204);
	http_resp_free(&b);
	size_t big = 50000;
	char *body = malloc(big);
	memset(body, '\n', big);
	b = req(f, "POST", "/api/v1/import/prometheus", NULL, body, big); /* 60000 + 50000 > 100 KiB */
	assert_int_equal(b.status, 503);
	assert_non_null(strstr(b.body, "too many request bodies in flight"));
	http_resp_free(&b);
	assert_int_equal(finish_upload(a, 59000), 204);
	b = req(f, "POST", "/api/v1/import/prometheus", NULL, body, big); /* budget free again */
	assert_int_equal(b.status, 204);
	http_resp_free(&b);
	free(body);
	http_resp m = get(f, "/metrics");
	assert_non_null(strstr(m.body, "slod_http_request_body_budget_exceeded_total 1\n"));
	assert_non_null(strstr(m.body, "slod_http_request_body_bytes_buffered 0\n"));
	http_resp_free(&m);
}

static void test_federate(void **state)
{
	fixture *f = *state;
	make_ready(f);
	/* no timestamps: stored at the server's now, so inside federation's 5-minute lookback */
	import(f, "fed_b{Zone=\"x\",q=\"a\\\"b\"} 2\nfed_a{k=\"1\"} 1.5\nfed_a{k=\"2\"} 1e+06\nfed_old 1 1000\n");
	http_resp r = get(f, "/federate?match[]=%7B__name__%3D~%22fed_.*%22%7D");
	assert_int_equal(r.status, 200);
	/* fed_old is older than the lookback and left out; names grouped, one TYPE line each */
	const char *a1 = strstr(r.body, "# TYPE fed_a untyped\nfed_a{k=\"1\"} 1.5 ");
	const char *a2 = strstr(r.body, "\nfed_a{k=\"2\"} 1e+06 ");
	const char *b1 = strstr(r.body, "\n# TYPE fed_b untyped\nfed_b{Zone=\"x\",q=\"a\\\"b\"} 2 ");
	if (!a1 || !a2 || !b1)
		fprintf(stderr, "federate body:\n%s", r.body);
	assert_true(a1 == r.body && a2 && b1 && a2 < b1);
	assert_null(strstr(r.body, "fed_old"));
	http_resp_free(&r);
	expect(get(f, "/federate"), 400, NULL);
}

static int fake_reload(void *ud, char *err, size_t errlen)
{
	int *calls = ud;
	(*calls)++;
	if (*calls == 1)
		return 0;
	snprintf(err, errlen, "broken spec");
	return -1;
}

static void test_reload_route(void **state)
{
	fixture *f = *state;
	make_ready(f);
	expect(req(f, "POST", "/-/reload", NULL, NULL, 0), 403, "Lifecycle API is not enabled.\n");
	api_server_stop(f->srv);

	int calls = 0;
	api_options o;
	api_options_default(&o);
	o.listen_address = "127.0.0.1:0";
	o.reload = fake_reload;
	o.reload_ud = &calls;
	char err[256];
	assert_int_equal(api_server_start(&o, &f->srv, err, sizeof err), 0);
	f->port = api_server_port(f->srv);
	expect(req(f, "POST", "/-/reload", NULL, NULL, 0), 503, NULL); /* not ready yet */
	api_backend be = {.db = f->db};
	assert_int_equal(api_server_set_backend(f->srv, &be), 0);
	expect(req(f, "POST", "/-/reload", NULL, NULL, 0), 200, "");
	expect(req(f, "PUT", "/-/reload", NULL, NULL, 0), 500, "failed to reload config: broken spec\n");
	expect(get(f, "/-/reload"), 405, NULL);
	assert_int_equal(calls, 2);
	assert_null(api_server_swap_slo(f->srv, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_readiness_and_routing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_series, setup, teardown),
		cmocka_unit_test_setup_teardown(test_labels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_write_and_export, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_rules_and_slos, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_route, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_federate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_cancels_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_budget, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
