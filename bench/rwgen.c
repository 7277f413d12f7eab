/*
 * rwgen.c — remote-write load generator (main): pre-encodes the whole load (rwgen_plan_build),
 * then replays it over --conns keep-alive HTTP/1.1 connections, one thread each, and reports.
 *
 * Scheduling: requests are handed out in plan order (step-major) from one atomic counter. A
 * request for step t of block b is sent only once step t-1 of the same block has been answered, so
 * no receiver ever sees a series' samples out of order even with many connections; with
 * n_blocks >= conns (40 blocks for 100k series) this almost never waits. --rate S paces the start
 * of request r to r*batch/S seconds after the first.
 *
 * Output: a human summary on stderr, and one machine-readable line on stdout:
 *   RESULT series=.. samples_per_series=.. requests=.. sent_samples=.. acked_samples=..
 *          acked_requests=.. non2xx=.. net_errors=.. wall_s=.. samples_per_s=.. encode_s=..
 *          wire_bytes=.. raw_bytes=.. start_ms=.. end_ms=.. lat_p50_ms=.. lat_p99_ms=.. lat_max_ms=..
 *          gen_cpu_s=.. (the generator's own CPU while sending)
 *          status_204=.. [status_NNN=..]
 * "acked" means a 2xx answer. Non-2xx answers and network errors are counted, never retried
 * (except a keep-alive connection found closed before any response byte, which is retried once).
 * Exit status: 0 if every request was acknowledged, 1 if some were not, 2 on usage/setup errors.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/rwgen.h"

#define MAX_STATUS 600

typedef struct run {
	const rwgen_plan *plan;
	char host[64];
	int port;
	char path[256];
	double rate;        /* samples/s, 0 = as fast as possible */
	uint32_t batch;
	atomic_size_t next;
	int *done_step;     /* per block: highest step answered (-1 none); under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	double t0;
	double *lat_ms;     /* per request */
	bool verbose;
} run;

typedef struct worker {
	run *r;
	pthread_t th;
	uint64_t acked_samples, acked_reqs, non2xx, net_errors;
	uint64_t status[MAX_STATUS];
	char first_error[320];
} worker;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_until(double t)
{
	double d = t - now_s();
	if (d <= 0)
		return;
	struct timespec ts = {.tv_sec = (time_t)d, .tv_nsec = (long)((d - (double)(time_t)d) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	run *r = w->r;
	const rwgen_plan *p = r->plan;
	rwgen_conn c;
	rwgen_conn_init(&c, r->host, r->port);
	for (;;) {
		size_t i = atomic_fetch_add(&r->next, 1);
		if (i >= p->n_reqs)
			break;
		const rwgen_req *rq = &p->reqs[i];
		if (rq->step > 0) {
			pthread_mutex_lock(&r->mu);
			while (r->done_step[rq->block] < (int)rq->step - 1)
				pthread_cond_wait(&r->cv, &r->mu);
			pthread_mutex_unlock(&r->mu);
		}
		if (r->rate > 0)
			sleep_until(r->t0 + (double)i * (double)r->batch / r->rate);
		char err[256] = "";
		double t = now_s();
		int st = rwgen_conn_post(&c, r->path, rq->body, rq->len, err, sizeof(err));
		r->lat_ms[i] = (now_s() - t) * 1e3;
		if (st >= 200 && st < 300) {
			w->acked_samples += rq->n_samples;
			w->acked_reqs++;
		} else if (st < 0) {
			w->net_errors++;
			if (!w->first_error[0])
				snprintf(w->first_error, sizeof(w->first_error), "network: %s", err);
		} else {
			w->non2xx++;
			if (!w->first_error[0])
				snprintf(w->first_error, sizeof(w->first_error), "HTTP %d: %s", st, c.last_body);
		}
		if (st >= 0 && st < MAX_STATUS)
			w->status[st]++;
		pthread_mutex_lock(&r->mu);
		if (r->done_step[rq->block] < (int)rq->step)
			r->done_step[rq->block] = (int)rq->step;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
	}
	rwgen_conn_close(&c);
	return NULL;
}

static double cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: rwgen [options]\n"
	        "  --url URL          remote-write endpoint (default http://127.0.0.1:9099/api/v1/write)\n"
	        "  --series N         active series (default 100000)\n"
	        "  --samples N        samples per series, one per step (default 120)\n"
	        "  --step-ms MS       spacing of samples (default 15000)\n"
	        "  --start-ms MS      timestamp of the first step (default: now - samples*step - 60 s)\n"
	        "  --batch N          samples (= series) per request (default 2500)\n"
	        "  --conns N          concurrent connections (default 4)\n"
	        "  --rate S           pace to S samples/s (default 0 = as fast as acknowledged)\n"
	        "  --seed N           value/model seed (default 1)\n"
	        "  --only KIND        counters | gauges: restrict the model to one class of series\n"
	        "  --encode-only      build the plan, print its size, send nothing\n"
	        "  --list-names       print the model's metric names (with --series: those present) and exit\n");
}

int main(int argc, char **argv)
{
	const char *url = "http://127.0.0.1:9099/api/v1/write";
	long long series = 100000, samples = 120, step_ms = 15000, start_ms = -1, batch = 2500, conns = 4, seed = 1;
	double rate = 0;
	bool encode_only = false, list_names = false;
	int only = RWGEN_ONLY_ALL;
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},     {"series", required_argument, NULL, 's'},
		{"samples", required_argument, NULL, 'n'}, {"step-ms", required_argument, NULL, 'p'},
		{"start-ms", required_argument, NULL, 't'}, {"batch", required_argument, NULL, 'b'},
		{"conns", required_argument, NULL, 'c'},   {"rate", required_argument, NULL, 'r'},
		{"seed", required_argument, NULL, 'S'},    {"encode-only", no_argument, NULL, 'E'},
		{"list-names", no_argument, NULL, 'L'},    {"only", required_argument, NULL, 'O'},
		{"help", no_argument, NULL, 'h'},          {0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u': url = optarg; break;
		case 's': series = atoll(optarg); break;
		case 'n': samples = atoll(optarg); break;
		case 'p': step_ms = atoll(optarg); break;
		case 't': start_ms = atoll(optarg); break;
		case 'b': batch = atoll(optarg); break;
		case 'c': conns = atoll(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'S': seed = atoll(optarg); break;
		case 'E': encode_only = true; break;
		case 'L': list_names = true; break;
		case 'O':
			if (strcmp(optarg, "counters") == 0)
				only = RWGEN_ONLY_COUNTERS;
			else if (strcmp(optarg, "gauges") == 0)
				only = RWGEN_ONLY_GAUGES;
			else
				only = -1;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (series <= 0 || samples <= 0 || samples > 1000000 || step_ms <= 0 || batch <= 0 || batch > 1000000 ||
	    conns <= 0 || conns > 256) {
		usage(stderr);
		return 2;
	}
	run r = {.rate = rate, .batch = (uint32_t)batch};
	if (rwgen_parse_url(url, r.host, sizeof(r.host), &r.port, r.path, sizeof(r.path)) != 0) {
		fprintf(stderr, "rwgen: bad --url %s (want http://IPv4:port/path)\n", url);
		return 2;
	}
	if (start_ms < 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		start_ms = now - samples * step_ms - 60000;
		start_ms -= start_ms % step_ms;
	}

	rwgen_model m;
	rwgen_plan plan;
	char err[256];
	if (rwgen_model_init(&m, (size_t)series, (uint64_t)seed, only) != 0) {
		fprintf(stderr, "rwgen: out of memory or bad --only\n");
		return 2;
	}
	if (list_names) {
		/* names of the series that exist: the first min(series, n_tmpl) template entries */
		for (size_t k = 0; k < rwgen_model_n_names(&m); k++) {
			const char *name = rwgen_model_name(&m, k);
			bool present = false;
			for (size_t i = 0; i < m.n_series && i < m.n_tmpl && !present; i++) {
				rwgen_label l[RWGEN_MAX_LABELS + 2];
				present = rwgen_model_labels(&m, i, l, RWGEN_MAX_LABELS + 2) > 0 && strcmp(l[0].value, name) == 0;
			}
			if (present)
				printf("%s\n", name);
		}
		rwgen_model_deinit(&m);
		return 0;
	}
	double te = now_s();
	if (rwgen_plan_build(&plan, &m, (uint32_t)samples, (uint32_t)batch, start_ms, step_ms, err, sizeof(err)) != 0) {
		fprintf(stderr, "rwgen: %s\n", err);
		rwgen_model_deinit(&m);
		return 2;
	}
	double encode_s = now_s() - te;
	fprintf(stderr,
	        "rwgen: %lld series (%zu targets x %zu, %zu metric names), %" PRIu64 " samples in %zu requests, "
	        "%.1f MiB on the wire (%.2f B/sample, %.1f MiB raw protobuf), encoded in %.2f s\n",
	        series, m.n_targets, m.n_tmpl, rwgen_model_n_names(&m), plan.n_samples, plan.n_reqs,
	        (double)plan.wire_bytes / 1048576.0, (double)plan.wire_bytes / (double)plan.n_samples,
	        (double)plan.raw_bytes / 1048576.0, encode_s);
	if (encode_only) {
		printf("RESULT series=%lld requests=%zu sent_samples=%" PRIu64 " wire_bytes=%" PRIu64 " raw_bytes=%" PRIu64
		       " encode_s=%.3f\n",
		       series, plan.n_reqs, plan.n_samples, plan.wire_bytes, plan.raw_bytes, encode_s);
		rwgen_plan_deinit(&plan);
		rwgen_model_deinit(&m);
		return 0;
	}

	int rc = 2;
	worker *ws = calloc((size_t)conns, sizeof(*ws));
	r.plan = &plan;
	r.done_step = malloc(plan.n_blocks * sizeof(int));
	r.lat_ms = calloc(plan.n_reqs, sizeof(double));
	if (!ws || !r.done_step || !r.lat_ms) {
		fprintf(stderr, "rwgen: out of memory\n");
		goto out;
	}
	for (size_t b = 0; b < plan.n_blocks; b++)
		r.done_step[b] = -1;
	atomic_init(&r.next, 0);
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	double cpu0 = cpu_s();
	r.t0 = now_s();
	long long started = 0;
	for (; started < conns; started++) {
		ws[started].r = &r;
		if (pthread_create(&ws[started].th, NULL, worker_main, &ws[started]) != 0) {
			fprintf(stderr, "rwgen: pthread_create failed\n");
			break;
		}
	}
	for (long long k = 0; k < started; k++)
		pthread_join(ws[k].th, NULL);
	double wall = now_s() - r.t0;
	double gen_cpu = cpu_s() - cpu0;

	worker tot = {0};
	const char *first_error = "";
	for (long long k = 0; k < started; k++) {
		tot.acked_samples += ws[k].acked_samples;
		tot.acked_reqs += ws[k].acked_reqs;
		tot.non2xx += ws[k].non2xx;
		tot.net_errors += ws[k].net_errors;
		for (int s = 0; s < MAX_STATUS; s++)
			tot.status[s] += ws[k].status[s];
		if (!first_error[0] && ws[k].first_error[0])
			first_error = ws[k].first_error;
	}
	qsort(r.lat_ms, plan.n_reqs, sizeof(double), cmp_double);
	double p50 = r.lat_ms[plan.n_reqs / 2], p99 = r.lat_ms[(plan.n_reqs * 99) / 100],
	       pmax = r.lat_ms[plan.n_reqs - 1];
	int64_t end_ms = start_ms + (samples - 1) * step_ms;
	printf("RESULT series=%lld samples_per_series=%lld requests=%zu sent_samples=%" PRIu64 " acked_samples=%" PRIu64
	       " acked_requests=%" PRIu64 " non2xx=%" PRIu64 " net_errors=%" PRIu64
	       " wall_s=%.3f samples_per_s=%.0f encode_s=%.3f wire_bytes=%" PRIu64 " raw_bytes=%" PRIu64
	       " start_ms=%" PRId64 " end_ms=%" PRId64 " lat_p50_ms=%.2f lat_p99_ms=%.2f lat_max_ms=%.2f gen_cpu_s=%.3f",
	       series, samples, plan.n_reqs, plan.n_samples, tot.acked_samples, tot.acked_reqs, tot.non2xx,
	       tot.net_errors, wall, (double)tot.acked_samples / wall, encode_s, plan.wire_bytes, plan.raw_bytes,
	       (int64_t)start_ms, end_ms, p50, p99, pmax, gen_cpu);
	for (int s = 0; s < MAX_STATUS; s++)
		if (tot.status[s])
			printf(" status_%d=%" PRIu64, s, tot.status[s]);
	printf("\n");
	fflush(stdout);
	fprintf(stderr, "rwgen: %" PRIu64 "/%" PRIu64 " samples acknowledged in %.2f s = %.0f samples/s over %lld conns; "
	        "%" PRIu64 " non-2xx, %" PRIu64 " network errors; latency p50 %.1f ms p99 %.1f ms max %.1f ms\n",
	        tot.acked_samples, plan.n_samples, wall, (double)tot.acked_samples / wall, conns, tot.non2xx,
	        tot.net_errors, p50, p99, pmax);
	if (first_error[0])
		fprintf(stderr, "rwgen: first failure: %s\n", first_error);
	rc = tot.acked_samples == plan.n_samples ? 0 : 1;
	pthread_mutex_destroy(&r.mu);
	pthread_cond_destroy(&r.cv);
out:
	free(ws);
	free(r.done_step);
	free(r.lat_ms);
	rwgen_plan_deinit(&plan);
	rwgen_model_deinit(&m);
	return rc;
}
