/* Tests for the load generator's pieces (bench/rwgen_*.c): model, values, pre-encoded plan
 * (decoded back and compared with the model), HTTP response parsing, and the client against an
 * in-process canned server. No timing is asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/rwgen.h"

/* ---- model ------------------------------------------------------------------------------- */

static char *series_key(const rwgen_label *l, int n)
{
	char *s = calloc(1, 1024);
	size_t at = 0;
	for (int k = 0; k < n; k++)
		at += (size_t)snprintf(s + at, 1024 - at, "%s=%s,", l[k].name, l[k].value);
	return s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_model_unique_sorted(void **state)
{
	(void)state;
	rwgen_model m;
	size_t n = 5000;
	assert_int_equal(rwgen_model_init(&m, n, 7, RWGEN_ONLY_ALL), 0);
	assert_true(rwgen_model_n_names(&m) >= 45 && rwgen_model_n_names(&m) <= 60);
	assert_true(m.n_tmpl >= 200);
	size_t n_all = m.n_tmpl;
	assert_int_equal(m.n_targets, (n + m.n_tmpl - 1) / m.n_tmpl);
	char **keys = calloc(n, sizeof(*keys));
	for (size_t i = 0; i < n; i++) {
		rwgen_label l[RWGEN_MAX_LABELS + 2];
		int nl = rwgen_model_labels(&m, i, l, RWGEN_MAX_LABELS + 2);
		assert_true(nl >= 3);
		assert_string_equal(l[0].name, "__name__");
		bool job = false, inst = false;
		for (int k = 1; k < nl; k++) {
			assert_true(strcmp(l[k - 1].name, l[k].name) < 0);
			job |= strcmp(l[k].name, "job") == 0;
			inst |= strcmp(l[k].name, "instance") == 0;
		}
		assert_true(job && inst);
		keys[i] = series_key(l, nl);
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(keys[i - 1], keys[i]) != 0);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	rwgen_label small[2];
	assert_int_equal(rwgen_model_labels(&m, 0, small, 2), -1);
	assert_int_equal(rwgen_model_labels(&m, n, small, 2), -1);
	rwgen_model_deinit(&m);

	/* counters only: every series is a counter, still unique and named */
	assert_int_equal(rwgen_model_init(&m, 3000, 7, RWGEN_ONLY_COUNTERS), 0);
	for (size_t i = 0; i < 3000; i++) {
		rwgen_kind k = rwgen_model_kind(&m, i);
		assert_true(k == RWGEN_COUNTER_INT || k == RWGEN_COUNTER_FLOAT);
	}
	size_t nc = m.n_tmpl;
	rwgen_model_deinit(&m);
	assert_int_equal(rwgen_model_init(&m, 3000, 7, RWGEN_ONLY_GAUGES), 0);
	for (size_t i = 0; i < 3000; i++) {
		rwgen_kind k = rwgen_model_kind(&m, i);
		assert_true(k != RWGEN_COUNTER_INT && k != RWGEN_COUNTER_FLOAT);
	}
	assert_true(nc > 0 && m.n_tmpl > 0);
	rwgen_model_deinit(&m);
	assert_int_equal(rwgen_model_init(&m, 10, 7, 99), -1);
	assert_int_equal(rwgen_model_init(&m, 10, 7, RWGEN_ONLY_ALL), 0);
	assert_int_equal(m.n_tmpl, n_all);
	rwgen_model_deinit(&m);

	/* 100k series spread over hundreds of targets */
	assert_int_equal(rwgen_model_init(&m, 100000, 1, RWGEN_ONLY_ALL), 0);
	assert_true(m.n_targets >= 100 && m.n_targets <= 1000);
	rwgen_model_deinit(&m);
}

static void test_values_shapes(void **state)
{
	(void)state;
	rwgen_model m;
	rwgen_values vs;
	size_t n = 2000;
	assert_int_equal(rwgen_model_init(&m, n, 3, RWGEN_ONLY_ALL), 0);
	assert_int_equal(rwgen_values_init(&vs, &m), 0);
	double *prev = calloc(n, sizeof(double)), *first = calloc(n, sizeof(double));
	int counters = 0, gauges = 0, changed_counters = 0;
	for (uint64_t t = 0; t < 50; t++) {
		for (size_t i = 0; i < n; i++) {
			double v = rwgen_values_next(&vs, &m, i, t);
			assert_true(isfinite(v) && v >= 0);
			rwgen_kind k = rwgen_model_kind(&m, i);
			if (t == 0) {
				first[i] = v;
				counters += k == RWGEN_COUNTER_INT || k == RWGEN_COUNTER_FLOAT;
				gauges += k != RWGEN_COUNTER_INT && k != RWGEN_COUNTER_FLOAT;
			} else if (k == RWGEN_COUNTER_INT || k == RWGEN_COUNTER_FLOAT) {
				assert_true(v >= prev[i]);
			} else if (k == RWGEN_GAUGE_CONST) {
				assert_true(v == first[i]);
			}
			if (k == RWGEN_COUNTER_INT || k == RWGEN_GAUGE_INT)
				assert_true(v == floor(v));
			if (k == RWGEN_GAUGE_PAGES)
				assert_true(fmod(v, 4096.0) == 0.0);
			prev[i] = v;
		}
	}
	for (size_t i = 0; i < n; i++) {
		rwgen_kind k = rwgen_model_kind(&m, i);
		if ((k == RWGEN_COUNTER_INT || k == RWGEN_COUNTER_FLOAT) && prev[i] > first[i])
			changed_counters++;
	}
	assert_true(counters > 0 && gauges > 0);
	assert_true(changed_counters > counters / 2);

	/* deterministic: the same seed replays the same values */
	rwgen_values vs2;
	assert_int_equal(rwgen_values_init(&vs2, &m), 0);
	for (uint64_t t = 0; t < 50; t++)
		for (size_t i = 0; i < n; i++) {
			double v = rwgen_values_next(&vs2, &m, i, t);
			if (t == 49)
				assert_true(v == prev[i]);
		}
	rwgen_values_deinit(&vs2);
	free(prev);
	free(first);
	rwgen_values_deinit(&vs);
	rwgen_model_deinit(&m);
}

/* ---- plan: decode every request and compare with the model -------------------------------- */

typedef struct check {
	const rwgen_model *m;
	rwgen_values *vs;
	size_t next_series;
	uint64_t step;
	int64_t want_ts;
	long series_seen;
} check;

static void check_series(void *ud, const rwgen_label *labels, int n_labels, const int64_t *ts, const double *vals,
                         size_t n_samples)
{
	check *c = ud;
	rwgen_label want[RWGEN_MAX_LABELS + 2];
	int nw = rwgen_model_labels(c->m, c->next_series, want, RWGEN_MAX_LABELS + 2);
	assert_int_equal(n_labels, nw);
	for (int k = 0; k < nw; k++) {
		assert_string_equal(labels[k].name, want[k].name);
		assert_string_equal(labels[k].value, want[k].value);
	}
	assert_int_equal(n_samples, 1);
	assert_int_equal(ts[0], c->want_ts);
	double v = rwgen_values_next(c->vs, c->m, c->next_series, c->step);
	assert_memory_equal(&v, &vals[0], sizeof(double));
	c->next_series++;
	c->series_seen++;
}

static void test_plan_roundtrip(void **state)
{
	(void)state;
	rwgen_model m;
	rwgen_plan p;
	char err[128];
	size_t n = 1000;
	uint32_t steps = 3, batch = 300;
	int64_t start = 1700000000000, step = 15000;
	assert_int_equal(rwgen_model_init(&m, n, 11, RWGEN_ONLY_ALL), 0);
	assert_int_equal(rwgen_plan_build(&p, &m, steps, batch, start, step, err, sizeof(err)), 0);
	assert_int_equal(p.n_blocks, 4);
	assert_int_equal(p.n_reqs, 12);
	assert_int_equal(p.n_samples, n * steps);
	assert_true(p.wire_bytes < p.raw_bytes);

	rwgen_values vs;
	assert_int_equal(rwgen_values_init(&vs, &m), 0);
	check c = {.m = &m, .vs = &vs};
	uint64_t total = 0;
	for (size_t r = 0; r < p.n_reqs; r++) {
		const rwgen_req *rq = &p.reqs[r];
		assert_int_equal(rq->step, r / p.n_blocks);
		assert_int_equal(rq->block, r % p.n_blocks);
		c.next_series = (size_t)rq->block * batch;
		c.step = rq->step;
		c.want_ts = start + (int64_t)rq->step * step;
		long got = rwgen_decode(rq->body, rq->len, check_series, &c, err, sizeof(err));
		assert_int_equal(got, rq->n_samples);
		assert_int_equal(rq->n_samples, rq->block == 3 ? 100 : 300);
		total += (uint64_t)got;
	}
	assert_int_equal(total, n * steps);
	assert_int_equal(c.series_seen, (long)(n * steps));

	/* corrupt bodies are rejected, not crashed on */
	uint8_t junk[16] = {0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3};
	assert_int_equal(rwgen_decode(junk, sizeof(junk), NULL, NULL, err, sizeof(err)), -1);
	uint8_t trunc[64];
	memcpy(trunc, p.reqs[0].body, sizeof(trunc));
	assert_int_equal(rwgen_decode(trunc, sizeof(trunc), NULL, NULL, err, sizeof(err)), -1);

	rwgen_values_deinit(&vs);
	rwgen_plan_deinit(&p);
	assert_int_equal(rwgen_plan_build(&p, &m, 0, batch, start, step, err, sizeof(err)), -1);
	assert_null(p.reqs);
	rwgen_model_deinit(&m);
}

/* ---- HTTP parsing ------------------------------------------------------------------------- */

static void test_http_head(void **state)
{
	(void)state;
	rwgen_http_head h;
	const char *r204 = "HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n";
	assert_int_equal(rwgen_http_parse_head(r204, strlen(r204), &h), (long)strlen(r204));
	assert_int_equal(h.status, 204);
	assert_int_equal(h.content_length, -1);
	assert_false(h.chunked);
	assert_false(h.close);
	/* incomplete at every prefix */
	for (size_t k = 0; k < strlen(r204); k++)
		assert_int_equal(rwgen_http_parse_head(r204, k, &h), 0);

	const char *r400 = "HTTP/1.1 400 Bad Request\r\ncontent-length:  12 \r\nConnection: close\r\n\r\nout of order";
	long hl = rwgen_http_parse_head(r400, strlen(r400), &h);
	assert_int_equal(hl, (long)strlen(r400) - 12);
	assert_int_equal(h.status, 400);
	assert_int_equal(h.content_length, 12);
	assert_true(h.close);

	const char *rch = "HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";
	assert_true(rwgen_http_parse_head(rch, strlen(rch), &h) > 0);
	assert_true(h.chunked);
	assert_false(h.close);

	const char *r10 = "HTTP/1.0 200 OK\r\n\r\n";
	assert_true(rwgen_http_parse_head(r10, strlen(r10), &h) > 0);
	assert_true(h.close);
	const char *r10k = "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n";
	assert_true(rwgen_http_parse_head(r10k, strlen(r10k), &h) > 0);
	assert_false(h.close);

	const char *bad[] = {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "FOO\r\n\r\n",
	                     "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	                     "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		assert_int_equal(rwgen_http_parse_head(bad[k], strlen(bad[k]), &h), -1);
}

static void test_chunked(void **state)
{
	(void)state;
	const char *body = "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
	size_t blen = strlen(body) - 4;
	/* feed in two pieces split at every position */
	for (size_t split = 0; split <= blen; split++) {
		char keep[64];
		rwgen_chunked c = {.keep = keep, .keep_cap = sizeof(keep)};
		long a = rwgen_chunked_feed(&c, body, split);
		assert_int_equal(a, (long)split);
		assert_true(c.done == (split == blen));
		long b = rwgen_chunked_feed(&c, body + split, strlen(body) - split);
		assert_int_equal(b, (long)(blen - split));
		assert_true(c.done);
		assert_int_equal(c.keep_len, 12);
		assert_memory_equal(keep, "hello, world", 12);
	}
	rwgen_chunked c = {0};
	assert_int_equal(rwgen_chunked_feed(&c, "zz\r\n", 4), -1);
	rwgen_chunked c2 = {0};
	assert_int_equal(rwgen_chunked_feed(&c2, "3\r\nabcX", 7), -1);
	rwgen_chunked c3 = {0};
	assert_int_equal(rwgen_chunked_feed(&c3, "ffffffffffffffffff\r\n", 20), -1);
}

static void test_parse_url(void **state)
{
	(void)state;
	char host[64], path[64];
	int port;
	assert_int_equal(rwgen_parse_url("http://127.0.0.1:9090/api/v1/write", host, sizeof(host), &port, path, sizeof(path)), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9090);
	assert_string_equal(path, "/api/v1/write");
	assert_int_equal(rwgen_parse_url("http://localhost:8428", host, sizeof(host), &port, path, sizeof(path)), 0);
	assert_string_equal(path, "/");
	assert_int_equal(rwgen_parse_url("https://x:1/", host, sizeof(host), &port, path, sizeof(path)), -1);
	assert_int_equal(rwgen_parse_url("http://x/", host, sizeof(host), &port, path, sizeof(path)), -1);
	assert_int_equal(rwgen_parse_url("http://x:0/", host, sizeof(host), &port, path, sizeof(path)), -1);
	assert_int_equal(rwgen_parse_url("http://x:70000/", host, sizeof(host), &port, path, sizeof(path)), -1);
}

/* ---- the client against a canned server ---------------------------------------------------- */

typedef struct server {
	int lfd;
	int port;
	int requests;       /* complete requests read */
	size_t body_bytes;  /* sum of request bodies */
	char last_head[1024];
} server;

/* Reads one request (head + Content-Length body) from fd; returns 0, or -1 on EOF/error. */
static int read_request(server *s, int fd)
{
	char buf[65536];
	size_t len = 0;
	char *end = NULL;
	while (!end) {
		ssize_t k = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (k <= 0)
			return -1;
		len += (size_t)k;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	size_t hl = (size_t)(end + 4 - buf);
	snprintf(s->last_head, sizeof(s->last_head), "%.*s", (int)hl, buf);
	const char *cl = strcasestr(buf, "Content-Length:");
	size_t want = cl ? (size_t)atol(cl + 15) : 0, have = len - hl;
	while (have < want) {
		ssize_t k = recv(fd, buf, sizeof(buf), 0);
		if (k <= 0)
			return -1;
		have += (size_t)k;
	}
	s->body_bytes += want;
	s->requests++;
	return 0;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Script: conn 1 answers 204, then a chunked 400, then closes while idle (client must retry);
 * conn 2 answers a Content-Length 503 with Connection: close; conn 3 answers 200 then a
 * body-to-EOF response. */
static void *server_main(void *arg)
{
	server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	read_request(s, fd);
	send_str(fd, "HTTP/1.1 204 No Content\r\n\r\n");
	read_request(s, fd);
	send_str(fd, "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nout \r\n8\r\nof order\r\n0\r\n\r\n");
	close(fd); /* idle close: the client's next request on this connection fails before any byte */
	fd = accept(s->lfd, NULL, NULL);
	read_request(s, fd);
	send_str(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy");
	close(fd);
	fd = accept(s->lfd, NULL, NULL);
	read_request(s, fd);
	send_str(fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	read_request(s, fd);
	send_str(fd, "HTTP/1.1 202 Accepted\r\n\r\nuntil eof");
	close(fd);
	return NULL;
}

static void test_client(void **state)
{
	(void)state;
	server s = {0};
	s.lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(s.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s.lfd, 4), 0);
	assert_int_equal(getsockname(s.lfd, (struct sockaddr *)&sa, &sl), 0);
	s.port = ntohs(sa.sin_port);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, server_main, &s), 0);

	rwgen_conn c;
	char err[256];
	uint8_t body[3000];
	memset(body, 'x', sizeof(body));
	rwgen_conn_init(&c, "127.0.0.1", s.port);
	assert_int_equal(rwgen_conn_post(&c, "/api/v1/write", body, sizeof(body), err, sizeof(err)), 204);
	assert_true(c.fd >= 0);
	assert_non_null(strstr(s.last_head, "POST /api/v1/write HTTP/1.1\r\n"));
	assert_non_null(strstr(s.last_head, "Content-Encoding: snappy\r\n"));
	assert_non_null(strstr(s.last_head, "Content-Type: application/x-protobuf\r\n"));
	assert_non_null(strstr(s.last_head, "X-Prometheus-Remote-Write-Version: 0.1.0\r\n"));
	assert_int_equal(rwgen_conn_post(&c, "/api/v1/write", body, 10, err, sizeof(err)), 400);
	assert_string_equal(c.last_body, "out of order");
	/* the server closed the idle connection: retried transparently on a new one */
	assert_int_equal(rwgen_conn_post(&c, "/api/v1/write", body, 20, err, sizeof(err)), 503);
	assert_string_equal(c.last_body, "busy");
	assert_int_equal(c.fd, -1); /* Connection: close honoured */
	assert_int_equal(rwgen_conn_post(&c, "/api/v1/write", body, 30, err, sizeof(err)), 200);
	assert_int_equal(rwgen_conn_post(&c, "/api/v1/write", body, 40, err, sizeof(err)), 202);
	assert_string_equal(c.last_body, "until eof");
	assert_int_equal(c.fd, -1);
	pthread_join(th, NULL);
	assert_int_equal(s.requests, 5);
	assert_int_equal(s.body_bytes, sizeof(body) + 10 + 20 + 30 + 40);
	/* nobody listens any more: a network error, not a status */
	close(s.lfd);
	assert_int_equal(rwgen_conn_post(&c, "/api/v1/write", body, 10, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "connect"));
	rwgen_conn_close(&c);
}

/* ---- rwgen_send against a multi-connection server that checks per-series order ---------------- */

typedef struct order_srv {
	int lfd, port;
	pthread_mutex_t mu;
	pthread_t conn_th[16];
	int n_conn;
	int requests, violations, injected;
	long samples;
	int64_t inject_ts;            /* answer 500 to the block-0 request with this timestamp */
	char keys[64][256];           /* first series of each block seen so far */
	int64_t last_ts[64];
	int n_keys;
} order_srv;

typedef struct first_series {
	char key[256];
	int64_t ts;
	bool have;
} first_series;

static void grab_first(void *ud, const rwgen_label *labels, int n_labels, const int64_t *ts, const double *vals,
                       size_t n_samples)
{
	first_series *f = ud;
	(void)vals;
	if (f->have || n_samples == 0)
		return;
	char *k = series_key(labels, n_labels);
	snprintf(f->key, sizeof(f->key), "%s", k);
	free(k);
	f->ts = ts[0];
	f->have = true;
}

typedef struct conn_arg {
	order_srv *s;
	int fd;
} conn_arg;

/* Reads one request body into *body (malloc'd). Returns its length, or -1 at EOF/error. */
static long read_body(int fd, char **body)
{
	char head[4096];
	size_t len = 0;
	char *end = NULL;
	while (!end) {
		if (len + 1 >= sizeof(head))
			return -1;
		ssize_t k = recv(fd, head + len, sizeof(head) - 1 - len, 0);
		if (k <= 0)
			return -1;
		len += (size_t)k;
		head[len] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	size_t hl = (size_t)(end + 4 - head);
	const char *cl = strcasestr(head, "Content-Length:");
	size_t want = cl ? (size_t)atol(cl + 15) : 0, have = len - hl;
	*body = malloc(want + 1);
	memcpy(*body, head + hl, have);
	while (have < want) {
		ssize_t k = recv(fd, *body + have, want - have, 0);
		if (k <= 0) {
			free(*body);
			return -1;
		}
		have += (size_t)k;
	}
	return (long)want;
}

static void *order_conn(void *arg)
{
	conn_arg *ca = arg;
	order_srv *s = ca->s;
	char *body;
	long n;
	while ((n = read_body(ca->fd, &body)) >= 0) {
		first_series f = {0};
		char err[128];
		long got = rwgen_decode((const uint8_t *)body, (size_t)n, grab_first, &f, err, sizeof(err));
		free(body);
		bool fail = false;
		pthread_mutex_lock(&s->mu);
		s->requests++;
		if (got > 0 && f.have) {
			s->samples += got;
			int k = 0;
			while (k < s->n_keys && strcmp(s->keys[k], f.key) != 0)
				k++;
			if (k == s->n_keys && k < 64) {
				snprintf(s->keys[k], sizeof(s->keys[k]), "%s", f.key);
				s->last_ts[k] = INT64_MIN;
				s->n_keys++;
			}
			if (k < 64) {
				if (f.ts <= s->last_ts[k])
					s->violations++;
				s->last_ts[k] = f.ts;
				fail = k == 0 && f.ts == s->inject_ts;
				s->injected += fail;
			}
		}
		pthread_mutex_unlock(&s->mu);
		send_str(ca->fd, fail ? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 8\r\n\r\ninjected"
		                      : "HTTP/1.1 204 No Content\r\n\r\n");
	}
	close(ca->fd);
	free(ca);
	return NULL;
}

static void *order_accept(void *arg)
{
	order_srv *s = arg;
	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		conn_arg *ca = malloc(sizeof(*ca));
		ca->s = s;
		ca->fd = fd;
		pthread_mutex_lock(&s->mu);
		int slot = s->n_conn < 16 ? s->n_conn++ : -1;
		pthread_mutex_unlock(&s->mu);
		assert_true(slot >= 0);
		assert_int_equal(pthread_create(&s->conn_th[slot], NULL, order_conn, ca), 0);
	}
}

static void test_send_order_and_counts(void **state)
{
	(void)state;
	rwgen_model m;
	rwgen_plan p;
	char err[128];
	int64_t start = 1700000000000, step = 15000;
	assert_int_equal(rwgen_model_init(&m, 3000, 5, RWGEN_ONLY_ALL), 0);
	assert_int_equal(rwgen_plan_build(&p, &m, 5, 500, start, step, err, sizeof(err)), 0);

	order_srv s = {.inject_ts = start + 2 * step};
	pthread_mutex_init(&s.mu, NULL);
	s.lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(s.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s.lfd, 16), 0);
	assert_int_equal(getsockname(s.lfd, (struct sockaddr *)&sa, &sl), 0);
	s.port = ntohs(sa.sin_port);
	pthread_t acc;
	assert_int_equal(pthread_create(&acc, NULL, order_accept, &s), 0);

	rwgen_send_opts o = {.host = "127.0.0.1", .port = s.port, .path = "/api/v1/write", .conns = 8};
	rwgen_stats st;
	assert_int_equal(rwgen_send(&p, &o, &st, err, sizeof(err)), 0);
	shutdown(s.lfd, SHUT_RDWR);
	pthread_join(acc, NULL);
	for (int k = 0; k < s.n_conn; k++)
		pthread_join(s.conn_th[k], NULL);
	close(s.lfd);

	assert_int_equal(s.requests, 30);
	assert_int_equal(s.samples, 15000);
	assert_int_equal(s.n_keys, 6);
	assert_int_equal(s.violations, 0);
	assert_int_equal(s.injected, 1);
	assert_int_equal(st.conns, 8); /* more connections than blocks: order needs the per-block wait */
	assert_true(s.n_conn >= 1 && s.n_conn <= 8);
	assert_int_equal(st.acked_samples, 15000 - 500);
	assert_int_equal(st.acked_reqs, 29);
	assert_int_equal(st.non2xx, 1);
	assert_int_equal(st.net_errors, 0);
	assert_int_equal(st.status[204], 29);
	assert_int_equal(st.status[500], 1);
	assert_string_equal(st.first_error, "HTTP 500: injected");
	assert_true(st.lat_p50_ms <= st.lat_p99_ms && st.lat_p99_ms <= st.lat_max_ms);

	/* nothing listens now: every request is a network error, none acknowledged */
	assert_int_equal(rwgen_send(&p, &o, &st, err, sizeof(err)), 0);
	assert_int_equal(st.acked_samples, 0);
	assert_int_equal(st.net_errors, 30);
	assert_non_null(strstr(st.first_error, "network: connect"));

	o.conns = 0;
	assert_int_equal(rwgen_send(&p, &o, &st, err, sizeof(err)), -1);
	pthread_mutex_destroy(&s.mu);
	rwgen_plan_deinit(&p);
	rwgen_model_deinit(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_unique_sorted), cmocka_unit_test(test_values_shapes),
		cmocka_unit_test(test_plan_roundtrip),      cmocka_unit_test(test_http_head),
		cmocka_unit_test(test_chunked),             cmocka_unit_test(test_parse_url),
		cmocka_unit_test(test_client),              cmocka_unit_test(test_send_order_and_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
