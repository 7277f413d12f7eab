/*
 * rwgen_send.c — replays a pre-encoded plan over several keep-alive connections (one thread each).
 *
 * Scheduling: requests are handed out in plan order (step-major) from one atomic counter. Request
 * (t, b) is sent only once request (t-1, b) has been answered (whatever the answer), so a receiver
 * never sees a series' samples out of order even with many connections; with n_blocks >= conns
 * (40 blocks for 100k series) this almost never waits. No deadlock: (t-1, b) was handed out
 * earlier to a thread that is not waiting on anything later than itself. With a rate, request r
 * starts no earlier than r * batch / rate seconds after the first.
 *
 * State: per-block "highest answered step" under one mutex + condition variable (one broadcast per
 * answer); per-worker counters merged at the end; one latency slot per request.
 * Costs: the send itself (no copies of the bodies), O(n_reqs log n_reqs) for the percentiles.
 */
#include "bench/rwgen.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct run {
	const rwgen_plan *plan;
	const rwgen_send_opts *o;
	uint32_t batch;        /* samples per full request, for pacing */
	atomic_size_t next;
	int *done_step;        /* per block: highest step answered (-1 none); under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	double t0;
	double *lat_ms;        /* per request */
} run;

typedef struct worker {
	run *r;
	pthread_t th;
	rwgen_stats st;        /* only the counters and first_error are used */
} worker;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec * 1e-6;
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
	rwgen_conn_init(&c, r->o->host, r->o->port);
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
		if (r->o->rate > 0)
			sleep_until(r->t0 + (double)i * (double)r->batch / r->o->rate);
		char err[256] = "";
		double t = now_s();
		int st = rwgen_conn_post(&c, r->o->path, rq->body, rq->len, err, sizeof(err));
		r->lat_ms[i] = (now_s() - t) * 1e3;
		if (st >= 200 && st < 300) {
			w->st.acked_samples += rq->n_samples;
			w->st.acked_reqs++;
		} else if (st < 0) {
			w->st.net_errors++;
			if (!w->st.first_error[0])
				snprintf(w->st.first_error, sizeof(w->st.first_error), "network: %s", err);
		} else {
			w->st.non2xx++;
			if (!w->st.first_error[0])
				snprintf(w->st.first_error, sizeof(w->st.first_error), "HTTP %d: %s", st, c.last_body);
		}
		if (st >= 0 && st < RWGEN_MAX_STATUS)
			w->st.status[st]++;
		pthread_mutex_lock(&r->mu);
		if (r->done_step[rq->block] < (int)rq->step)
			r->done_step[rq->block] = (int)rq->step;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
	}
	rwgen_conn_close(&c);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int rwgen_send(const rwgen_plan *p, const rwgen_send_opts *o, rwgen_stats *st, char *errbuf, size_t errlen)
{
	int rc = -1, started = 0;
	worker *ws = NULL;
	run r = {.plan = p, .o = o};
	bool sync_init = false;

	memset(st, 0, sizeof(*st));
	if (o->conns <= 0 || o->conns > 256 || p->n_reqs == 0) {
		snprintf(errbuf, errlen, "conns must be 1..256 and the plan non-empty");
		return -1;
	}
	r.batch = p->reqs[0].n_samples;
	ws = calloc((size_t)o->conns, sizeof(*ws));
	r.done_step = malloc(p->n_blocks * sizeof(int));
	r.lat_ms = calloc(p->n_reqs, sizeof(double));
	if (!ws || !r.done_step || !r.lat_ms) {
		snprintf(errbuf, errlen, "out of memory");
		goto out;
	}
	for (size_t b = 0; b < p->n_blocks; b++)
		r.done_step[b] = -1;
	atomic_init(&r.next, 0);
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	sync_init = true;
	double cpu0 = cpu_s();
	r.t0 = now_s();
	for (; started < o->conns; started++) {
		ws[started].r = &r;
		if (pthread_create(&ws[started].th, NULL, worker_main, &ws[started]) != 0)
			break;
	}
	/* Fewer threads than asked still finish the plan: each takes requests until none are left. */
	for (int k = 0; k < started; k++)
		pthread_join(ws[k].th, NULL);
	if (started == 0) {
		snprintf(errbuf, errlen, "pthread_create failed");
		goto out;
	}
	st->wall_s = now_s() - r.t0;
	st->gen_cpu_s = cpu_s() - cpu0;
	st->conns = started;
	for (int k = 0; k < started; k++) {
		st->acked_samples += ws[k].st.acked_samples;
		st->acked_reqs += ws[k].st.acked_reqs;
		st->non2xx += ws[k].st.non2xx;
		st->net_errors += ws[k].st.net_errors;
		for (int s = 0; s < RWGEN_MAX_STATUS; s++)
			st->status[s] += ws[k].st.status[s];
		if (!st->first_error[0] && ws[k].st.first_error[0])
			memcpy(st->first_error, ws[k].st.first_error, sizeof(st->first_error));
	}
	qsort(r.lat_ms, p->n_reqs, sizeof(double), cmp_double);
	st->lat_p50_ms = r.lat_ms[p->n_reqs / 2];
	st->lat_p99_ms = r.lat_ms[(p->n_reqs * 99) / 100];
	st->lat_max_ms = r.lat_ms[p->n_reqs - 1];
	rc = 0;
out:
	if (sync_init) {
		pthread_mutex_destroy(&r.mu);
		pthread_cond_destroy(&r.cv);
	}
	free(ws);
	free(r.done_step);
	free(r.lat_ms);
	return rc;
}
