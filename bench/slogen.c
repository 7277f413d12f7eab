/*
 * slogen.c — backfills the data of N Sloth-shaped SLOs over remote-write, for
 * bench/run_slo_compare.sh (and the 30-day series of bench/run_query.sh's sum_over_time query).
 *
 * Usage: slogen --url URL [--slos N] [--days D] [--step-ms MS] [--end-ms MS] [--chunk-ms MS]
 *               [--batch SERIES] [--conns C] [--no-recorded] [--recorded-only] [--live SECONDS]
 *
 * Data (the shape of bench/slo_cycle.c, so the numbers compare): per SLO i
 *   req_total{slo="i"}          counter, 10 req/s
 *   req_errors_total{slo="i"}   counter, 0.05% errors, a 10-minute 1% burst every 6 h (per-SLO phase)
 *   slo:sli_error:ratio_rate5m{sloth_id="svc-s<i>",sloth_service="svc",sloth_slo="s<i>",
 *                              sloth_window="5m"}
 *                               the 5-minute error ratio Sloth's recording rule would have written
 *                               at every step (what the 30d period rule averages); --no-recorded
 *                               leaves it out, --recorded-only sends only it
 * one sample per series every --step-ms (default 30 s) for --days days, the last at --end-ms
 * (default: now - 60 s, rounded down to the step).
 *
 * Requests: "backfill-shaped": each carries --batch series (default 500) with all their samples of
 * one time chunk of --chunk-ms (default 30 minutes; 60 samples per series at 30 s). Chunks are sent
 * oldest first and chunk k+1 starts only when every request of chunk k was answered (a barrier over
 * the --conns sender threads), because Prometheus's head rejects samples more than 1 h older than
 * its newest one. Encoding: slod's protoc-c prompb code + snappy, as rwgen (bench/rwgen_encode.c).
 *
 * --live S: after the backfill, keeps "scraping" the counters (not the recorded ratio, which the
 * rules under test now write) for S seconds: one sample per counter series every --step-ms at
 * timestamps continuing the backfill, sent when the wall clock passes them (one connection,
 * --batch series per request), so short windows keep data while evaluation is measured.
 *
 * Output: "RESULT acked_samples=... sent_samples=... non2xx=... net_errors=... wall_s=..."
 * on stdout; the first error body on stderr. Exit 0 only if every request got a 2xx answer.
 *
 * Memory: O(series) value state + one request's protobuf and snappy buffers per thread.
 */
#include <getopt.h>
#include <pthread.h>
#include <snappy-c.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/rwgen.h"
#include "ingest/prompb/remote.pb-c.h"

typedef struct series_def {
	Prometheus__Label lab[5];
	Prometheus__Label *labp[5];
	size_t n;
	int kind; /* 0 total, 1 errors, 2 recorded ratio */
	size_t slo;
	double v; /* counter value so far */
} series_def;

typedef struct gen {
	series_def *s;
	size_t n_series;
	char (*strs)[32]; /* 3 strings per SLO: slo index, sloth_id, sloth_slo */
	int64_t start_ms, step_ms, chunk_ms;
	uint64_t n_steps;
	size_t batch;
	char host[64], path[256];
	int port, conns;
	/* per chunk */
	int64_t chunk_start;
	atomic_size_t next_block;
	pthread_barrier_t bar;
	atomic_uint_least64_t acked, sent, non2xx, neterr;
	atomic_int stop;
	pthread_mutex_t err_mu;
	char first_error[320];
} gen;

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Error rate (errors per request) of SLO i at time t_s: as bench/slo_cycle.c. */
static double err_frac(size_t i, int64_t t_s)
{
	int64_t ph = (t_s + (int64_t)i * 977) % 21600;
	return ph < 600 ? 0.01 : 0.0005;
}

static void set_label(series_def *d, const char *name, const char *value)
{
	prometheus__label__init(&d->lab[d->n]);
	d->lab[d->n].name = (char *)name;
	d->lab[d->n].value = (char *)value;
	d->labp[d->n] = &d->lab[d->n];
	d->n++;
}

typedef struct worker {
	gen *g;
	Prometheus__TimeSeries *ts;
	Prometheus__TimeSeries **tsp;
	Prometheus__Sample *smp;
	Prometheus__Sample **smpp;
	uint8_t *raw, *z;
	size_t raw_cap, z_cap;
	rwgen_conn conn;
} worker;

static void note_error(gen *g, const char *msg)
{
	pthread_mutex_lock(&g->err_mu);
	if (!g->first_error[0])
		snprintf(g->first_error, sizeof g->first_error, "%s", msg);
	pthread_mutex_unlock(&g->err_mu);
}

/* Builds and sends the request for block b of the current chunk. Returns 0, or -1 on a local
 * failure (ENOMEM); HTTP failures are counted, not returned. */
static int send_block(worker *w, size_t b)
{
	gen *g = w->g;
	size_t first = b * g->batch, n = g->n_series - first;
	if (n > g->batch)
		n = g->batch;
	int64_t k0 = (g->chunk_start - g->start_ms) / g->step_ms;
	int64_t per = g->chunk_ms / g->step_ms;
	if ((uint64_t)(k0 + per) > g->n_steps)
		per = (int64_t)g->n_steps - k0;
	size_t si = 0;
	for (size_t j = 0; j < n; j++) {
		series_def *d = &g->s[first + j];
		Prometheus__TimeSeries *t = &w->ts[j];
		prometheus__time_series__init(t);
		t->n_labels = d->n;
		t->labels = d->labp;
		t->n_samples = (size_t)per;
		t->samples = &w->smpp[si];
		for (int64_t k = k0; k < k0 + per; k++, si++) {
			int64_t ts = g->start_ms + k * g->step_ms;
			double step_s = (double)g->step_ms / 1000.0;
			double v;
			switch (d->kind) {
			case 0:
				d->v += 10.0 * step_s;
				v = d->v;
				break;
			case 1:
				d->v += 10.0 * err_frac(d->slo, ts / 1000) * step_s;
				v = d->v;
				break;
			default:
				v = err_frac(d->slo, ts / 1000);
				break;
			}
			prometheus__sample__init(&w->smp[si]);
			w->smp[si].timestamp = ts;
			w->smp[si].value = v;
			w->smpp[si] = &w->smp[si];
		}
		w->tsp[j] = t;
	}
	Prometheus__WriteRequest wr;
	prometheus__write_request__init(&wr);
	wr.n_timeseries = n;
	wr.timeseries = w->tsp;
	size_t need = prometheus__write_request__get_packed_size(&wr);
	if (need > w->raw_cap) {
		free(w->raw);
		free(w->z);
		w->raw_cap = need * 2;
		w->z_cap = snappy_max_compressed_length(w->raw_cap);
		w->raw = malloc(w->raw_cap);
		w->z = malloc(w->z_cap);
		if (!w->raw || !w->z)
			return -1;
	}
	size_t got = prometheus__write_request__pack(&wr, w->raw);
	size_t zlen = w->z_cap;
	if (snappy_compress((const char *)w->raw, got, (char *)w->z, &zlen) != SNAPPY_OK)
		return -1;
	char err[256];
	uint64_t ns = (uint64_t)si;
	atomic_fetch_add(&g->sent, ns);
	int st = rwgen_conn_post(&w->conn, g->path, w->z, zlen, err, sizeof err);
	if (st < 0) {
		atomic_fetch_add(&g->neterr, 1);
		note_error(g, err);
	} else if (st / 100 != 2) {
		char msg[320];
		snprintf(msg, sizeof msg, "HTTP %d: %s", st, w->conn.last_body);
		atomic_fetch_add(&g->non2xx, 1);
		note_error(g, msg);
	} else {
		atomic_fetch_add(&g->acked, ns);
	}
	return 0;
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	gen *g = w->g;
	size_t n_blocks = (g->n_series + g->batch - 1) / g->batch;
	for (int64_t c = g->start_ms; c < g->start_ms + (int64_t)g->n_steps * g->step_ms; c += g->chunk_ms) {
		/* thread 0 resets the chunk state between two barriers */
		int r = pthread_barrier_wait(&g->bar);
		if (r == PTHREAD_BARRIER_SERIAL_THREAD) {
			g->chunk_start = c;
			atomic_store(&g->next_block, 0);
		}
		pthread_barrier_wait(&g->bar);
		for (;;) {
			size_t b = atomic_fetch_add(&g->next_block, 1);
			if (b >= n_blocks || atomic_load(&g->stop))
				break;
			if (send_block(w, b) != 0) {
				note_error(g, "out of memory");
				atomic_store(&g->stop, 1);
			}
		}
	}
	return NULL;
}

/* Live mode: sends the counter series' next samples (timestamps end_ms + k*step) as the wall
 * clock passes them, for live_s seconds. Returns the number of failed requests. */
static uint64_t live_run(gen *g, worker *w, int64_t end_ms, double live_s)
{
	uint64_t fails = 0;
	double until = wall_s() + live_s;
	size_t n_counters = 0;
	for (size_t i = 0; i < g->n_series; i++)
		if (g->s[i].kind != 2)
			g->s[n_counters++] = g->s[i]; /* compact: counters first (labp points into lab: fix below) */
	for (size_t i = 0; i < n_counters; i++)
		for (size_t j = 0; j < g->s[i].n; j++)
			g->s[i].labp[j] = &g->s[i].lab[j];
	g->n_series = n_counters;
	int64_t ts = end_ms + g->step_ms;
	while (wall_s() < until) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
		if (now_ms < ts) {
			struct timespec d = {0, 200 * 1000000L};
			nanosleep(&d, NULL);
			continue;
		}
		/* one step: chunk of exactly one sample per series */
		g->start_ms = ts;
		g->n_steps = 1;
		g->chunk_start = ts;
		g->chunk_ms = g->step_ms;
		size_t n_blocks = (g->n_series + g->batch - 1) / g->batch;
		uint64_t before = atomic_load(&g->non2xx) + atomic_load(&g->neterr);
		for (size_t b = 0; b < n_blocks; b++)
			if (send_block(w, b) != 0)
				fails++;
		fails += atomic_load(&g->non2xx) + atomic_load(&g->neterr) - before;
		ts += g->step_ms;
	}
	return fails;
}

int main(int argc, char **argv)
{
	const char *url = "http://127.0.0.1:9099/api/v1/write";
	size_t slos = 1000;
	double days = 30;
	int64_t step_ms = 30000, end_ms = 0, chunk_ms = 1800000;
	size_t batch = 500;
	int conns = 2, recorded = 1, only_recorded = 0;
	double live_s = 0;
	static const struct option lo[] = {
		{"url", 1, 0, 'u'}, {"slos", 1, 0, 'n'}, {"days", 1, 0, 'd'}, {"step-ms", 1, 0, 's'},
		{"end-ms", 1, 0, 'e'}, {"chunk-ms", 1, 0, 'k'}, {"batch", 1, 0, 'b'}, {"conns", 1, 0, 'c'},
		{"no-recorded", 0, 0, 'R'}, {"recorded-only", 0, 0, 'O'}, {"live", 1, 0, 'L'}, {0, 0, 0, 0}};
	int o;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'u': url = optarg; break;
		case 'n': slos = (size_t)atol(optarg); break;
		case 'd': days = atof(optarg); break;
		case 's': step_ms = atoll(optarg); break;
		case 'e': end_ms = atoll(optarg); break;
		case 'k': chunk_ms = atoll(optarg); break;
		case 'b': batch = (size_t)atol(optarg); break;
		case 'c': conns = atoi(optarg); break;
		case 'R': recorded = 0; break;
		case 'O': only_recorded = 1; break;
		case 'L': live_s = atof(optarg); break;
		default:
			fprintf(stderr, "usage: see the top of bench/slogen.c\n");
			return 2;
		}
	}
	if (slos == 0 || step_ms <= 0 || chunk_ms < step_ms || batch == 0 || conns < 1 || conns > 64 || days <= 0) {
		fprintf(stderr, "slogen: bad arguments\n");
		return 2;
	}
	chunk_ms -= chunk_ms % step_ms;
	if (end_ms == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		end_ms = (int64_t)ts.tv_sec * 1000 - 60000;
		end_ms -= end_ms % step_ms;
	}
	gen *g = calloc(1, sizeof *g);
	if (!g)
		return 1;
	g->n_steps = (uint64_t)(days * 86400000.0 / (double)step_ms);
	g->step_ms = step_ms;
	g->chunk_ms = chunk_ms;
	g->start_ms = end_ms - (int64_t)(g->n_steps - 1) * step_ms;
	g->batch = batch;
	g->conns = conns;
	char host[64], path[256];
	if (rwgen_parse_url(url, host, sizeof host, &g->port, path, sizeof path) != 0) {
		fprintf(stderr, "slogen: bad url %s\n", url);
		return 2;
	}
	memcpy(g->host, host, sizeof host);
	memcpy(g->path, path, sizeof path);
	size_t per_slo = only_recorded ? 1 : (recorded ? 3 : 2);
	g->n_series = slos * per_slo;
	g->s = calloc(g->n_series, sizeof *g->s);
	g->strs = calloc(slos * 3, sizeof *g->strs);
	if (!g->s || !g->strs)
		return 1;
	size_t k = 0;
	for (size_t i = 0; i < slos; i++) {
		char *idx = g->strs[3 * i], *id = g->strs[3 * i + 1], *sl = g->strs[3 * i + 2];
		snprintf(idx, 32, "%zu", i);
		snprintf(id, 32, "svc-s%zu", i);
		snprintf(sl, 32, "s%zu", i);
		if (!only_recorded) {
			series_def *t = &g->s[k++], *e = &g->s[k++];
			set_label(t, "__name__", "req_total");
			set_label(t, "slo", idx);
			t->kind = 0;
			t->slo = i;
			set_label(e, "__name__", "req_errors_total");
			set_label(e, "slo", idx);
			e->kind = 1;
			e->slo = i;
		}
		if (recorded || only_recorded) {
			series_def *r = &g->s[k++];
			set_label(r, "__name__", "slo:sli_error:ratio_rate5m");
			set_label(r, "sloth_id", id);
			set_label(r, "sloth_service", "svc");
			set_label(r, "sloth_slo", sl);
			set_label(r, "sloth_window", "5m");
			r->kind = 2;
			r->slo = i;
		}
	}
	pthread_barrier_init(&g->bar, NULL, (unsigned)conns);
	pthread_mutex_init(&g->err_mu, NULL);
	size_t per = (size_t)(chunk_ms / step_ms);
	worker *ws = calloc((size_t)conns, sizeof *ws);
	pthread_t *th = calloc((size_t)conns, sizeof *th);
	if (!ws || !th)
		return 1;
	fprintf(stderr, "slogen: %zu series x %llu samples (%.3f M) @ %lld ms, %lld..%lld\n", g->n_series,
		(unsigned long long)g->n_steps, (double)g->n_series * (double)g->n_steps / 1e6, (long long)step_ms,
		(long long)g->start_ms, (long long)end_ms);
	for (int i = 0; i < conns; i++) {
		ws[i].g = g;
		ws[i].ts = calloc(batch, sizeof *ws[i].ts);
		ws[i].tsp = calloc(batch, sizeof *ws[i].tsp);
		ws[i].smp = calloc(batch * per, sizeof *ws[i].smp);
		ws[i].smpp = calloc(batch * per, sizeof *ws[i].smpp);
		if (!ws[i].ts || !ws[i].tsp || !ws[i].smp || !ws[i].smpp)
			return 1;
		rwgen_conn_init(&ws[i].conn, g->host, g->port);
	}
	double t0 = wall_s();
	for (int i = 0; i < conns; i++)
		if (pthread_create(&th[i], NULL, worker_main, &ws[i]) != 0)
			return 1;
	for (int i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	double wall = wall_s() - t0;
	unsigned long long acked = atomic_load(&g->acked), sent = atomic_load(&g->sent);
	unsigned long long non2xx = atomic_load(&g->non2xx), neterr = atomic_load(&g->neterr);
	printf("RESULT acked_samples=%llu sent_samples=%llu non2xx=%llu net_errors=%llu wall_s=%.3f "
	       "samples_per_s=%.0f start_ms=%lld end_ms=%lld\n",
	       acked, sent, non2xx, neterr, wall, (double)acked / (wall > 0 ? wall : 1), (long long)g->start_ms,
	       (long long)end_ms);
	if (g->first_error[0])
		fprintf(stderr, "slogen: first error: %s\n", g->first_error);
	fflush(stdout);
	if (live_s > 0 && !only_recorded) {
		uint64_t live_fail = live_run(g, &ws[0], end_ms, live_s);
		printf("LIVE failed_requests=%llu\n", (unsigned long long)live_fail);
		fflush(stdout);
	}
	for (int i = 0; i < conns; i++) {
		rwgen_conn_close(&ws[i].conn);
		free(ws[i].ts);
		free(ws[i].tsp);
		free(ws[i].smp);
		free(ws[i].smpp);
		free(ws[i].raw);
		free(ws[i].z);
	}
	free(ws);
	free(th);
	free(g->s);
	free(g->strs);
	pthread_barrier_destroy(&g->bar);
	pthread_mutex_destroy(&g->err_mu);
	free(g);
	return (non2xx || neterr || acked != sent) ? 1 : 0;
}
