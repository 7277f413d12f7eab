/*
 * rwgen.h — the pieces of bench/rwgen (the remote-write load generator), split from its main() so
 * that they can be unit-tested: a synthetic but realistic series model, the pre-encoder that turns
 * it into snappy-compressed remote-write requests, and a tiny blocking HTTP/1.1 client.
 *
 * Nothing here is part of slod; it is a benchmark tool. Prefix rwgen_ (file-local helpers are
 * static). No global mutable state: every function works on caller-owned structs.
 */
#ifndef SLOD_BENCH_RWGEN_H
#define SLOD_BENCH_RWGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- series model ------------------------------------------------------------------------- */

#define RWGEN_MAX_LABELS 8

typedef enum rwgen_kind {
	RWGEN_COUNTER_INT = 0, /* monotone, integer increments (requests, bytes, buckets) */
	RWGEN_COUNTER_FLOAT,   /* monotone, 0.01-resolution increments (cpu seconds) */
	RWGEN_GAUGE_INT,       /* random walk on integers (goroutines, fds) */
	RWGEN_GAUGE_PAGES,     /* random walk on multiples of 4096 (memory bytes) */
	RWGEN_GAUGE_FLOAT,     /* random walk with 0.01 resolution (load, quantiles) */
	RWGEN_GAUGE_CONST,     /* never changes (MemTotal, start_time, up) */
} rwgen_kind;

typedef struct rwgen_label {
	const char *name;
	const char *value;
} rwgen_label;

/* One series of the per-target template: labels other than job/instance, sorted by name. */
typedef struct rwgen_tmpl {
	rwgen_label labels[RWGEN_MAX_LABELS]; /* labels[0] is __name__ */
	int n_labels;
	rwgen_kind kind;
} rwgen_tmpl;

/*
 * The model: series i belongs to target (instance) i / n_tmpl and is template entry i % n_tmpl, so
 * every target exports the same ~300 series (node-exporter, HTTP histogram, Go runtime, ...), and
 * n_series / n_tmpl targets ("hundreds" for 100k series) share about 50 metric names.
 * Invariant: all label sets are distinct and sorted by label name.
 */
typedef struct rwgen_model {
	rwgen_tmpl *tmpl;      /* owned */
	size_t n_tmpl;
	size_t n_series;
	size_t n_targets;
	char (*instance)[32];  /* owned, n_targets strings "10.a.b.c:port" */
	uint64_t seed;
} rwgen_model;

#define RWGEN_ONLY_ALL 0
#define RWGEN_ONLY_COUNTERS 1 /* template restricted to counter series (bytes/sample of counters) */
#define RWGEN_ONLY_GAUGES 2

/* Builds the model for n_series series; `only` is RWGEN_ONLY_ALL or restricts the template to
 * one class of series. Returns 0, or -1 on ENOMEM or a bad `only` (model left zeroed). */
int rwgen_model_init(rwgen_model *m, size_t n_series, uint64_t seed, int only);
void rwgen_model_deinit(rwgen_model *m);
/* Number of distinct metric names in the template. */
size_t rwgen_model_n_names(const rwgen_model *m);
/* Metric name k (k < rwgen_model_n_names), a static string. */
const char *rwgen_model_name(const rwgen_model *m, size_t k);
/* Writes the full label set of series i (incl. job and instance), sorted by name, into out[cap].
 * Returns the number of labels, or -1 if cap is too small or i >= n_series. Strings are borrowed
 * from the model. */
int rwgen_model_labels(const rwgen_model *m, size_t i, rwgen_label *out, int cap);
/* Kind of series i (precondition: i < n_series). */
rwgen_kind rwgen_model_kind(const rwgen_model *m, size_t i);

/* Value state: one double per series, advanced one step (15 s) at a time. */
typedef struct rwgen_values {
	double *v;       /* owned, n_series */
	size_t n;
	uint64_t seed;
} rwgen_values;

int rwgen_values_init(rwgen_values *vs, const rwgen_model *m);
void rwgen_values_deinit(rwgen_values *vs);
/* Value of series i at step t. Must be called with t = 0, 1, 2, ... for each series in turn
 * (t = 0 returns the initial value); counters never decrease. */
double rwgen_values_next(rwgen_values *vs, const rwgen_model *m, size_t i, uint64_t t);

/* ---- request pre-encoding ----------------------------------------------------------------- */

typedef struct rwgen_req {
	uint8_t *body;     /* owned, snappy-compressed WriteRequest */
	size_t len;
	uint32_t n_samples;
	uint32_t step;     /* time step t of the samples in it */
	uint32_t block;    /* which slice of series: [block*batch, block*batch+n_samples) */
	size_t raw_len;    /* protobuf size before snappy */
} rwgen_req;

typedef struct rwgen_plan {
	rwgen_req *reqs;   /* owned, n_reqs, ordered by (step, block) */
	size_t n_reqs;
	size_t n_blocks;   /* requests per step */
	uint64_t n_samples;
	int64_t start_ms;  /* timestamp of step 0 */
	int64_t step_ms;
	uint64_t raw_bytes, wire_bytes;
} rwgen_plan;

/*
 * Encodes n_steps "live-shaped" requests per slice of `batch` series: request (t, b) holds one sample
 * (timestamp start_ms + t*step_ms) for each series of block b. Returns 0, or -1 with errbuf set
 * (ENOMEM, or encoding failure); on failure the plan is left empty.
 */
int rwgen_plan_build(rwgen_plan *p, const rwgen_model *m, uint32_t n_steps, uint32_t batch,
                     int64_t start_ms, int64_t step_ms, char *errbuf, size_t errlen);
void rwgen_plan_deinit(rwgen_plan *p);

/* Decodes one request body (for tests and --verify): snappy-uncompresses and unpacks it, then calls
 * fn for each series with its labels and its samples. Returns the number of samples, or -1 with
 * errbuf set if the body is not a valid snappy WriteRequest. */
typedef void (*rwgen_series_fn)(void *ud, const rwgen_label *labels, int n_labels,
                                const int64_t *ts, const double *vals, size_t n_samples);
long rwgen_decode(const uint8_t *body, size_t len, rwgen_series_fn fn, void *ud,
                  char *errbuf, size_t errlen);

/* ---- HTTP/1.1 client ---------------------------------------------------------------------- */

/* Result of parsing a response head. */
typedef struct rwgen_http_head {
	int status;              /* e.g. 204 */
	long long content_length; /* -1 if absent */
	bool chunked;
	bool close;              /* "Connection: close" or HTTP/1.0 without keep-alive */
} rwgen_http_head;

/* Parses a response head in buf[0..len). Returns the head length (incl. the final CRLFCRLF) when
 * complete, 0 if more bytes are needed, -1 if malformed. */
long rwgen_http_parse_head(const char *buf, size_t len, rwgen_http_head *out);

/* Incremental chunked-body decoder: feed it bytes; it reports how many it consumed and whether the
 * body (incl. trailer) is complete. Zero-initialise before the first feed. */
typedef struct rwgen_chunked {
	int state;
	int digits;                  /* hex digits of the current size line */
	unsigned long long remaining;
	bool done;
	char *keep;                  /* optional: the first keep_cap payload bytes are copied here */
	size_t keep_cap, keep_len;
} rwgen_chunked;
/* Returns bytes consumed (<= len), or -1 if malformed. Sets c->done at the end of the body. */
long rwgen_chunked_feed(rwgen_chunked *c, const char *buf, size_t len);

typedef struct rwgen_conn {
	int fd;                  /* -1 when not connected */
	char host[64];
	int port;
	char rbuf[8192];
	size_t rlen;             /* unread bytes in rbuf */
	char last_body[256];     /* first bytes of the last response body, NUL-terminated */
} rwgen_conn;

void rwgen_conn_init(rwgen_conn *c, const char *host, int port);
void rwgen_conn_close(rwgen_conn *c);
/*
 * Sends one POST with the given remote-write body on the keep-alive connection (connecting if
 * needed) and waits for the whole response. Returns the HTTP status (>= 100), or -1 on a network
 * or protocol error (errbuf set; the connection is closed). If a reused connection turns out to be
 * closed by the peer before any response byte arrives, the request is retried once on a new one.
 */
int rwgen_conn_post(rwgen_conn *c, const char *path, const uint8_t *body, size_t len,
                    char *errbuf, size_t errlen);

/* ---- sending ------------------------------------------------------------------------------ */

#define RWGEN_MAX_STATUS 600

typedef struct rwgen_send_opts {
	const char *host;  /* IPv4 address or "localhost" */
	int port;
	const char *path;  /* e.g. "/api/v1/write" */
	int conns;         /* 1..256 connections, one thread each */
	double rate;       /* samples/s to pace to; 0 = as fast as answers come */
} rwgen_send_opts;

typedef struct rwgen_stats {
	uint64_t acked_samples, acked_reqs; /* 2xx answers */
	uint64_t non2xx, net_errors;
	uint64_t status[RWGEN_MAX_STATUS];  /* answers by HTTP status */
	double wall_s;                      /* first send to last answer */
	double gen_cpu_s;                   /* this process's CPU (all threads) meanwhile */
	double lat_p50_ms, lat_p99_ms, lat_max_ms;
	int conns;                          /* threads actually started */
	char first_error[320];              /* "HTTP 400: <body>" or "network: ..." or "" */
} rwgen_stats;

/*
 * Sends every request of the plan once (no retries beyond rwgen_conn_post's idle-close retry),
 * never sending step t of a block before step t-1 of that block was answered. Fills *st. Returns 0
 * (even if requests failed: see st), or -1 with errbuf set on setup failure (bad options, ENOMEM).
 * The plan is borrowed.
 */
int rwgen_send(const rwgen_plan *p, const rwgen_send_opts *o, rwgen_stats *st, char *errbuf, size_t errlen);

/* Parses "http://host:port/path" (host must be an IPv4 address or "localhost"). Returns 0 or -1. */
int rwgen_parse_url(const char *url, char *host, size_t hostcap, int *port, char *path, size_t pathcap);

#endif
