/*
 * server.c — the libmicrohttpd glue: daemon lifecycle, per-request context, body accumulation with
 * a size limit, routing and dispatch, response queueing and per-route request counters.
 *
 * Request flow (MHD calls on_access several times per request):
 *   on_uri     before MHD parses the URL parameters: a URI with too many of them for MHD's connection
 *              pool is cut at '?' and the request marked (answered 414 at the last call).
 *   1st call   allocate api_req (its arena, body buf bounded by max_body_bytes); if Content-Length
 *              already exceeds the limit, answer 413 at once (MHD closes the connection).
 *   data calls append to r->body; past the limit the body is dropped and body_too_large is set.
 *              All bodies together are bounded too (body_budget = max(256 MiB, 4 x max_body_bytes),
 *              counted by capacity in `buffered`): past it a request gets a retryable 503.
 *   last call  collect query parameters, api__dispatch() (route lookup, form body, readiness,
 *              handler), queue r->out as the response, count it in the metrics.
 *   completion on_completed frees the api_req.
 * Costs: one arena + two bufs per request; route lookup is a linear scan of ~20 patterns.
 * Threads: MHD's internal epoll thread pool; an api_req is touched by one thread at a time.
 * Stop: quiesce (no new connections), cancel running queries (inflight.c), wait up to 5 s for the
 * handlers counted in `active` to queue their answers, then MHD_stop_daemon.
 */
#include "api/internal.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "promql/engine.h"

const int api__codes[API_N_CODES] = {200, 204, 301, 400, 404, 405, 406, 413, 415, 422, 429, 500, 503, 0};

size_t api__code_slot(int status)
{
	for (size_t i = 0; i + 1 < API_N_CODES; i++)
		if (api__codes[i] == status)
			return i;
	return API_N_CODES - 1;
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void api_options_default(api_options *o)
{
	memset(o, 0, sizeof *o);
	o->listen_address = "127.0.0.1:9099";
	o->max_body_bytes = API_DEFAULT_MAX_BODY_BYTES;
	o->threads = 0;
	o->version = "unknown";
}

static unsigned method_bit(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return API_GET;
	if (strcmp(m, "POST") == 0)
		return API_POST;
	if (strcmp(m, "HEAD") == 0)
		return API_HEAD;
	if (strcmp(m, "PUT") == 0)
		return API_PUT;
	if (strcmp(m, "DELETE") == 0)
		return API_DELETE;
	return API_OTHER;
}

const char *api__header(api_req *r, const char *name)
{
	if (!r->conn)
		return NULL;
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static bool starts_with_ci(const char *s, const char *prefix)
{
	return s && strncasecmp(s, prefix, strlen(prefix)) == 0;
}

void api__dispatch(api_req *r)
{
	const api_route *hit = NULL;
	bool path_known = false;
	for (size_t i = 0; i < api__n_routes; i++) {
		const api_route *rt = &api__routes[i];
		size_t np = 0;
		if (!api__route_match(rt->pattern, r->path, NULL, NULL, NULL))
			continue;
		path_known = true;
		unsigned m = rt->methods;
		if (m & API_GET)
			m |= API_HEAD;
		if (!(m & r->method))
			continue;
		if (!api__route_match(rt->pattern, r->path, &r->arena, r->path_params, &np)) {
			api__reply_text(r, 500, "out of memory");
			return;
		}
		r->n_path_params = np;
		hit = rt;
		r->route = rt;
		r->route_index = i;
		break;
	}
	if (!hit) {
		if (path_known)
			api__reply_text(r, 405, "method not allowed");
		else
			api__reply_text(r, 404, "404 page not found");
		return;
	}
	if (r->method == API_POST && starts_with_ci(api__header(r, "Content-Type"), "application/x-www-form-urlencoded")) {
		if (api__form_parse(r, r->body.data ? r->body.data : "", r->body.len) != 0) {
			api__reply_error(r, API_ERR_BAD_DATA, "error parsing form values: invalid URL escape");
			return;
		}
	}
	if (r->nul_param) {
		api__reply_error(r, API_ERR_BAD_DATA, "invalid parameter \"%s\": NUL byte (%%00) not allowed", r->nul_param);
		return;
	}
	if (hit->needs_backend) {
		if (!atomic_load_explicit(&r->srv->ready, memory_order_acquire)) {
			api__reply_text(r, 503, "Service Unavailable");
			return;
		}
		r->be = &r->srv->backend;
	}
	hit->fn(r);
	if (!r->replied)
		api__reply_text(r, 500, "handler produced no reply");
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
				    const char *value, size_t value_size)
{
	api_req *r = cls;
	(void)kind;
	if (!value) {
		value = "";
		value_size = 0;
	}
	if (api__param_add(r, key, key_size, value, value_size) != 0) {
		r->params_oom = true;
		return MHD_NO;
	}
	return MHD_YES;
}

static void count(api_req *r)
{
	api_server *s = r->srv;
	size_t row = r->route ? r->route_index : api__n_routes;
	int64_t us = mono_us() - r->t0_us;
	atomic_fetch_add_explicit(&s->metrics.http[row * API_N_CODES + api__code_slot(r->status)], 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&s->metrics.http_us[row], (uint64_t)us, memory_order_relaxed);
	if (s->opt.logger.fn && s->opt.logger.min_level <= SLOD_LOG_DEBUG)
		slod_log(&s->opt.logger, SLOD_LOG_DEBUG, "http", "%s %s -> %d (%zu bytes in, %zu out, %lld us)",
			 r->method == API_GET ? "GET" : r->method == API_POST ? "POST" : r->method == API_HEAD ? "HEAD" : "other",
			 r->path ? r->path : "?", r->status, r->body.len, r->out.len, (long long)us);
}

static enum MHD_Result queue_reply(struct MHD_Connection *c, api_req *r)
{
	count(r);
	size_t len = r->out.len;
	char *data = buf_steal(&r->out);
	if (!data)
		return MHD_NO;
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(data);
		return MHD_NO;
	}
	if (r->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	for (size_t i = 0; i < r->n_hdr; i++)
		MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
	enum MHD_Result rc = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* Brings the server-wide count of buffered body bytes in line with r's body capacity. */
static void charge(api_req *r)
{
	api_server *s = r->srv;
	size_t cap = r->body.cap;
	if (cap > r->charged)
		atomic_fetch_add_explicit(&s->buffered, cap - r->charged, memory_order_relaxed);
	else if (cap < r->charged)
		atomic_fetch_sub_explicit(&s->buffered, r->charged - cap, memory_order_relaxed);
	r->charged = cap;
}

/* True if `more` bytes of request bodies still fit the server-wide budget. */
static bool budget_ok(api_server *s, size_t more)
{
	return atomic_load_explicit(&s->buffered, memory_order_relaxed) + more <= s->body_budget;
}

static void reply_busy(api_req *r)
{
	atomic_fetch_add_explicit(&r->srv->metrics.body_budget_exceeded, 1, memory_order_relaxed);
	api__reply_text(r, 503, "too many request bodies in flight (%zu bytes buffered); retry later",
			(size_t)atomic_load_explicit(&r->srv->buffered, memory_order_relaxed));
}

static void req_free(api_req *r)
{
	if (!r)
		return;
	buf_deinit(&r->body);
	charge(r);
	buf_deinit(&r->out);
	arena_deinit(&r->arena);
	free(r);
}

/* libmicrohttpd 0.9.75 keeps every URL parameter as a header record in the connection's memory
 * pool (MHD_OPTION_CONNECTION_MEMORY_LIMIT, 256 KiB). When they do not fit, it cannot build its own
 * 431 answer either and the connection hangs until the timeout. on_uri sees the raw URI before the
 * parameters are parsed: when the URI plus its records would need more than URI_BUDGET, it empties
 * the query string (MHD then parses no parameter) and marks the request, answered with 414. */
#define URI_BUDGET (192 * 1024)
#define URI_RECORD 64 /* pool bytes per parameter record, rounded up */
static const char uri_cut_marker; /* returned as the request context: never written */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	char *q = uri ? strchr(uri, '?') : NULL;
	if (!q)
		return NULL;
	size_t n = 1;
	for (const char *p = q; *p; p++)
		n += *p == '&';
	if (strlen(uri) + n * URI_RECORD <= URI_BUDGET)
		return NULL;
	q[1] = '\0'; /* MHD's own read buffer, which it cuts in place at '?' right after this call */
	return (void *)&uri_cut_marker;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				 const char *version, const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	api_server *s = cls;
	api_req *r = *con_cls;
	(void)version;
	bool uri_cut = r == (const void *)&uri_cut_marker;
	if (uri_cut)
		r = NULL;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		r->uri_cut = uri_cut;
		r->srv = s;
		r->conn = c;
		r->t0_us = mono_us();
		arena_init(&r->arena, 0);
		buf_init(&r->body, s->opt.max_body_bytes);
		/* every response is built in memory: bound it (query results are bounded earlier by
		 * --query.max-samples; /api/v1/export and /federate by this) */
		buf_init(&r->out, API_MAX_RESPONSE_BYTES);
		r->method = method_bit(method);
		r->path = arena_strdup(&r->arena, url);
		if (!r->path)
			return MHD_NO;
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		unsigned long long announced = cl ? strtoull(cl, NULL, 10) : 0;
		if (announced > s->opt.max_body_bytes) {
			r->body_too_large = true;
			atomic_fetch_add_explicit(&s->metrics.body_too_large, 1, memory_order_relaxed);
			api__reply_text(r, 413, "request body too large (limit %zu bytes)", s->opt.max_body_bytes);
			return queue_reply(c, r);
		}
		if (announced && !budget_ok(s, (size_t)announced)) {
			r->over_budget = true;
			reply_busy(r);
			return queue_reply(c, r);
		}
		if (announced) {
			buf_reserve(&r->body, (size_t)announced); /* one allocation; failure just means growth later */
			charge(r);
		}
		return MHD_YES;
	}
	if (r->replied) {
		/* early 413 already queued: swallow the rest of the upload */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		if (!r->body_too_large && !r->over_budget) {
			bool grows = r->body.len + n + 1 > r->body.cap;
			if (grows && !budget_ok(s, n > r->body.cap ? n : r->body.cap)) {
				r->over_budget = true;
				buf_deinit(&r->body);
			} else if (buf_append(&r->body, upload_data, n) != 0) {
				r->body_too_large = true;
				buf_deinit(&r->body);
			}
			charge(r);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->over_budget) {
		reply_busy(r);
	} else if (r->body_too_large) {
		atomic_fetch_add_explicit(&s->metrics.body_too_large, 1, memory_order_relaxed);
		api__reply_text(r, 413, "request body too large (limit %zu bytes)", s->opt.max_body_bytes);
	} else {
		MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, collect_arg, r);
		atomic_fetch_add_explicit(&s->active, 1, memory_order_acq_rel);
		if (r->params_oom)
			api__reply_text(r, 503, "out of memory");
		else if (r->uri_cut)
			api__reply_text(r, 414, "too many URL parameters (URI and parameters over %d KiB); send them in a "
						"form-encoded POST body", URI_BUDGET / 1024);
		else
			api__dispatch(r);
		enum MHD_Result rc = queue_reply(c, r);
		atomic_fetch_sub_explicit(&s->active, 1, memory_order_acq_rel);
		return rc;
	}
	return queue_reply(c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	if (*con_cls != (const void *)&uri_cut_marker)
		req_free(*con_cls);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	api_server *s = cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	slod_log(&s->opt.logger, SLOD_LOG_WARN, "http", "%s", msg);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

int api_server_start(const api_options *o, api_server **out, char *err, size_t errlen)
{
	*out = NULL;
	api_server *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->opt = *o;
	if (!s->opt.max_body_bytes)
		s->opt.max_body_bytes = API_DEFAULT_MAX_BODY_BYTES;
	if (!s->opt.clock.now_ms)
		s->opt.clock = slod_clock_system();
	copy_str(s->version, sizeof s->version, o->version ? o->version : "unknown");
	copy_str(s->revision, sizeof s->revision, o->revision);
	s->opt.version = s->version;
	s->opt.revision = s->revision;
	s->opt.listen_address = NULL; /* not kept: borrowed only during start */
	s->metrics.start_ms = slod_clock_now(&s->opt.clock);
	s->body_budget = s->opt.body_budget_bytes;
	if (!s->body_budget) {
		s->body_budget = s->opt.max_body_bytes * 4;
		if (s->body_budget < API_BODY_BUDGET_MIN)
			s->body_budget = API_BODY_BUDGET_MIN;
	}
	s->metrics.http = calloc((api__n_routes + 1) * API_N_CODES, sizeof *s->metrics.http);
	s->metrics.http_us = calloc(api__n_routes + 1, sizeof *s->metrics.http_us);
	atomic_init(&s->ready, false);
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_rwlock_init(&s->slo_lock, NULL);
	if (!s->metrics.http || !s->metrics.http_us) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (api__inflight_init(s) != 0) {
		snprintf(err, errlen, "cannot start the query watchdog thread");
		goto fail;
	}

	char host[256];
	uint16_t port;
	const char *addr = o->listen_address ? o->listen_address : "127.0.0.1:9099";
	if (api__split_hostport(addr, host, sizeof host, &port) != 0) {
		snprintf(err, errlen, "invalid listen address \"%s\" (want HOST:PORT)", addr);
		goto fail;
	}
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	if (host[0] == '\0') {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = htons(port);
	} else {
		struct addrinfo hints, *res = NULL;
		memset(&hints, 0, sizeof hints);
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		int gai = getaddrinfo(host, NULL, &hints, &res);
		if (gai != 0 || !res) {
			snprintf(err, errlen, "cannot resolve listen host \"%s\": %s", host, gai_strerror(gai));
			goto fail;
		}
		memcpy(&ss, res->ai_addr, res->ai_addrlen);
		freeaddrinfo(res);
		if (ss.ss_family == AF_INET6) {
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
			flags |= MHD_USE_IPv6;
		} else {
			((struct sockaddr_in *)&ss)->sin_port = htons(port);
		}
	}
	unsigned threads = o->threads;
	if (!threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		/* two per core, at least 4: handlers block (WAL fsync, long queries), and a slow query
		 * must not stall every remote-write connection on a 2-core machine */
		threads = n > 0 ? 2 * (unsigned)n : 4;
		if (threads < 4)
			threads = 4;
		if (threads > 64)
			threads = 64;
	}
	s->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_access, s,
				  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_THREAD_POOL_SIZE, threads,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				  MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
				  MHD_OPTION_CONNECTION_TIMEOUT, 120u,
				  MHD_OPTION_CONNECTION_LIMIT, o->max_connections ? o->max_connections : 4096u,
				  /* 0 is libmicrohttpd's "no limit" too */
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_connections_per_ip,
				  MHD_OPTION_END);
	if (!s->mhd) {
		snprintf(err, errlen, "cannot listen on %s (address in use or not available)", addr);
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : port;
	*out = s;
	return 0;
fail:
	api__inflight_deinit(s);
	pthread_rwlock_destroy(&s->slo_lock);
	pthread_mutex_destroy(&s->pool_lock);
	free(s->metrics.http);
	free(s->metrics.http_us);
	free(s);
	return -1;
}

uint16_t api_server_port(const api_server *s)
{
	return s->port;
}

int api_server_set_backend(api_server *s, const api_backend *b)
{
	s->engine = b->engine;
	if (!s->engine) {
		s->engine = promql_engine_new(NULL);
		if (!s->engine)
			return -1;
		s->engine_owned = true;
	}
	s->backend = *b;
	if (b->ingest_limits) {
		s->ingest_limits = *b->ingest_limits;
	} else {
		ingest_limits_default(&s->ingest_limits);
		if (s->ingest_limits.max_body_bytes < s->opt.max_body_bytes)
			s->ingest_limits.max_body_bytes = s->opt.max_body_bytes;
		if (s->ingest_limits.max_decompressed_bytes < 2 * s->opt.max_body_bytes)
			s->ingest_limits.max_decompressed_bytes = 2 * s->opt.max_body_bytes;
	}
	s->backend.ingest_limits = &s->ingest_limits;
	atomic_store_explicit(&s->ready, true, memory_order_release);
	return 0;
}

struct slo_engine *api_server_swap_slo(api_server *s, struct slo_engine *e)
{
	pthread_rwlock_wrlock(&s->slo_lock);
	struct slo_engine *old = s->backend.slo;
	s->backend.slo = e;
	pthread_rwlock_unlock(&s->slo_lock);
	return old;
}

void api_server_stop(api_server *s)
{
	if (!s)
		return;
	/* graceful: stop accepting, cancel running queries, let handlers answer (bounded wait),
	 * then stop the daemon */
	MHD_socket lsock = s->mhd ? MHD_quiesce_daemon(s->mhd) : MHD_INVALID_SOCKET;
	api__inflight_shutdown(s);
	bool had_active = atomic_load_explicit(&s->active, memory_order_acquire) > 0;
	for (int i = 0; i < 500 && atomic_load_explicit(&s->active, memory_order_acquire) > 0; i++) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (had_active) {
		struct timespec ts = {0, 50 * 1000000L}; /* let the answers just queued leave */
		nanosleep(&ts, NULL);
	}
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
	api__inflight_deinit(s);
	for (size_t i = 0; i < s->npool; i++)
		ingest_ctx_free(s->pool[i]);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_rwlock_destroy(&s->slo_lock);
	if (s->engine_owned)
		promql_engine_free(s->engine);
	free(s->metrics.http);
	free(s->metrics.http_us);
	free(s);
}
