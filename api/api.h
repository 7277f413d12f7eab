/*
 * api.h — slod's HTTP server: the Prometheus HTTP API subset, remote-write and text import, health,
 * readiness and slod's own /metrics, served by libmicrohttpd (private to this module).
 *
 * Lifecycle: api_server_start() binds and starts serving immediately; until api_server_set_backend()
 * publishes the storage (after WAL replay) every data route answers 503 and /-/ready says so.
 * api_server_stop() stops accepting, waits for in-flight requests and frees the server. There is no
 * global state: two servers can run in one process (tests do).
 *
 * Threads: libmicrohttpd runs an internal epoll thread pool (two threads per core by default); route
 * handlers run on those threads, each request with its own arena.
 */
#ifndef SLOD_API_H
#define SLOD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/clock.h"
#include "util/log.h"

struct tsdb;
struct ingest_limits;
struct promql_engine;
struct rules_manager;
struct slo_engine;
struct alerting;

#define API_DEFAULT_MAX_BODY_BYTES (32u * 1024 * 1024)

typedef struct api_options {
	const char *listen_address;  /* "HOST:PORT", "[v6]:PORT" or ":PORT" (all interfaces); port 0 =
					ephemeral (see api_server_port) */
	size_t max_body_bytes;       /* request bodies larger than this get 413; 0 = default */
	size_t body_budget_bytes;    /* all request bodies held at once; past it 503 (retryable);
					0 = max(256 MiB, 4 x max_body_bytes) */
	unsigned threads;            /* HTTP worker threads; 0 = 2 x online cores (4..64) */
	unsigned max_connections;    /* open connections at once; 0 = 4096 (each needs a file
					descriptor: the caller keeps RLIMIT_NOFILE above it) */
	unsigned max_connections_per_ip; /* of which from one client address; 0 = no limit */
	const char *version;         /* for /api/v1/status/buildinfo; borrowed, must outlive the server */
	const char *revision;        /* may be NULL */
	slod_logger logger;
	slod_clock clock;            /* now for default query times; zeroed = system clock */
	/* POST /-/reload calls this (from an HTTP thread); NULL: the route answers 403. Returns 0 or
	 * -1 with err filled. */
	int (*reload)(void *ud, char *err, size_t errlen);
	void *reload_ud;
} api_options;

/* What the routes serve from. All pointers are borrowed and must outlive the server (or a later
 * api_server_set_backend call). */
typedef struct api_backend {
	struct tsdb *db;
	const struct ingest_limits *ingest_limits; /* copied; NULL = ingest defaults with the body
						      limit raised to max_body_bytes */
	struct promql_engine *engine;  /* borrowed; NULL = the server creates one with defaults */
	struct rules_manager *rules;   /* NULL: /api/v1/rules and /alerts answer empty lists */
	struct slo_engine *slo;        /* NULL: /api/v1/slos answers an empty list */
	struct alerting *alerting;     /* NULL: /api/v1/notifications answers [] */
} api_backend;

typedef struct api_server api_server;

/* Fills defaults (127.0.0.1:9099, 32 MiB bodies, threads 0 = 2 x cores, system clock). */
void api_options_default(api_options *o);
/* Binds and starts serving. Returns 0, or a negative code with *out NULL and err filled
 * (bad address, port in use, out of memory). */
int api_server_start(const api_options *o, api_server **out, char *err, size_t errlen);
/* The bound TCP port (useful with port 0). */
uint16_t api_server_port(const api_server *s);
/* Publishes the backend and marks the server ready; b is copied. Thread-safe; call once.
 * Returns 0, or -1 when the default PromQL engine cannot be created (the server stays unready). */
int api_server_set_backend(api_server *s, const api_backend *b);
/* Replaces the SLO engine the routes read (after a reload) and returns the previous one. When this
 * returns, no request uses the previous engine any more, so the caller may free it. */
struct slo_engine *api_server_swap_slo(api_server *s, struct slo_engine *e);
/* Stops accepting, finishes in-flight requests and frees s. NULL is a no-op. */
void api_server_stop(api_server *s);

#endif
