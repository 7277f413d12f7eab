/*
 * raterows.c — rate(), increase() and delta() over plain range selectors in range queries (and in
 * instant queries, as one step), for every step at once and for several series in parallel: the
 * most common shape of a dashboard query (`sum by (x) (rate(m[5m]))` over hours at a 15 s step)
 * and of SLO rules.
 *
 * Per series: its samples for the whole query range are read once; the window (t - range, t] of
 * each step is found by two cursors that only move forward; the window's delta is last - first
 * (plus, for counters, the value before each reset, added in order exactly as extrapolated_rate
 * does: a prefix count of resets tells in O(1) whether a window holds one, and only those windows
 * loop); the extrapolation factor, which depends on the window's timing only, comes from a small
 * per-thread memo (see "Factor memo" below). Every value is the double the per-step path
 * computes.
 *
 * Parallelism (see "The pipeline" below): blocks of consecutive series are computed by whichever
 * thread claims them (worker threads with their own queriers, and the calling thread when the
 * block it must hand on next is not ready), while the calling thread hands the blocks' rows to the
 * consumer (sink or rowcall storage) strictly in selector order. The consumer therefore sees rows
 * as in a sequential run, annotations are added in the same order, and errors are reported in
 * series order. Workers share only the read-only spec, the storage (thread-safe queriers) and the
 * pipeline's counters and slots under its mutex.
 *
 * Cost: O(samples + steps) per series; memory: RATE_SLOTS blocks of rows (about 2 MiB), reused.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "promql/engine_int.h"
#include "promql/extrapolate.h"

/* The computation, shared read-only by the threads. */
typedef struct rate_spec {
	int64_t g_start, step, off, range;
	size_t nsteps;
	bool counter;
	double range_s;        /* rate: the range in seconds; 0: increase/delta */
	size_t max_window;     /* samples in one step's window (the query's sample limit) */
} rate_spec;

/* resets[j] = the number of counter resets (p[k].v < p[k-1].v) among k in [1, j]. */
static void reset_prefix(uint32_t *r, const tsdb_sample *p, size_t n)
{
	r[0] = 0;
	for (size_t j = 1; j < n; j++)
		r[j] = r[j - 1] + (p[j].v < p[j - 1].v);
}

/* The window p[lo..hi)'s delta as extrapolated_rate computes it: last - first plus, for a counter
 * (resets != NULL), the value before each reset, added in order. */
static double window_delta(const tsdb_sample *p, size_t lo, size_t hi, const uint32_t *resets)
{
	double d = p[hi - 1].v - p[lo].v;
	if (resets && resets[hi - 1] != resets[lo])
		for (size_t j = lo + 1; j < hi; j++)
			if (p[j].v < p[j - 1].v)
				d += p[j - 1].v;
	return d;
}

/*
 * Factor memo. promql_extrap_at's result is delta x factor, where factor depends only on the
 * window's timing -- t_first - range_start, range_end - t_last, t_last - t_first and the sample
 * count (range_s is fixed per query) -- unless the counter zero-point clamp applies, which also
 * depends on the values. Series scraped by the same target share their timestamps, and with a
 * regular scrape interval the timing repeats every few steps, so a query meets few distinct
 * timings. The memo keeps per timing the start gap after the 1.1x threshold rule (ds), the factor,
 * and ds / sampled. A window whose counter clamp clearly cannot apply (v_first > 2 x delta x
 * ds / sampled, i.e. the zero point lies at least twice as far as ds, with room for rounding) is
 * then one multiplication, and the same double as the full computation (same operations on the
 * same inputs); any other window takes the full computation. Direct-mapped, per thread.
 */
#define RATE_MEMO 1024      /* entries per thread for large selectors */
#define RATE_MEMO_SMALL 16  /* for a few series (rule evaluations): cheap to set up */

typedef struct rate_memo_entry {
	int64_t dsm, dem, sampled_ms; /* the timing (ms); sampled_ms < 0: empty slot */
	size_t n;
	double factor;                /* ((sampled + ds + de) / sampled) [/ range_s] */
	double ds_ratio;              /* ds / sampled; NaN when sampled == 0 (no fast clamp test) */
} rate_memo_entry;

typedef struct rate_memo {
	size_t mask;                  /* entries - 1 (a power of two) */
	rate_memo_entry *e;
} rate_memo;

/* Sets up n (a power of two) empty entries; -1 when out of memory. */
static int memo_init(rate_memo *m, size_t n)
{
	m->e = malloc(n * sizeof *m->e);
	if (!m->e)
		return -1;
	m->mask = n - 1;
	for (size_t i = 0; i < n; i++)
		m->e[i].sampled_ms = -1;
	return 0;
}

/* The window's samples: what extrap_memo needs besides the memo. */
typedef struct rate_win {
	int64_t t_first, t_last;
	double v_first, delta;
	size_t n;
} rate_win;

/* promql_extrapolate of window w over (range_start, range_end], through the memo. */
static double extrap_memo(rate_memo *m, const rate_win *w, bool counter, int64_t range_start, int64_t range_end,
			  double range_s)
{
	int64_t dsm = w->t_first - range_start, dem = range_end - w->t_last, sm = w->t_last - w->t_first;
	uint64_t h = (uint64_t)dsm * 0x9E3779B97F4A7C15ULL ^ (uint64_t)dem * 0xC2B2AE3D27D4EB4FULL ^
		     (uint64_t)sm * 0x165667B19E3779F9ULL ^ (uint64_t)w->n;
	rate_memo_entry *e = &m->e[(h ^ (h >> 29)) & m->mask];
	if (e->sampled_ms != sm || e->dsm != dsm || e->dem != dem || e->n != w->n) {
		/* the timing half of promql_extrap_samples/promql_extrap_at, in their order */
		double sampled = (double)sm / 1000, avg = sampled / (double)(w->n - 1);
		double thr = avg * 1.1, half = avg / 2;
		double ds = (double)dsm / 1000, de = (double)dem / 1000;
		if (ds >= thr)
			ds = half;
		if (de >= thr)
			de = half;
		double factor = 1.0;
		if (sampled != 0)
			factor = (sampled + ds + de) / sampled;
		if (range_s != 0)
			factor /= range_s;
		*e = (rate_memo_entry){dsm, dem, sm, w->n, factor, sampled != 0 ? ds / sampled : NAN};
	}
	if (counter && w->delta > 0 && w->v_first >= 0 && !(w->v_first > 2 * w->delta * e->ds_ratio)) {
		/* the zero-point clamp may apply: the full computation */
		promql_extrap_samples_t s;
		promql_extrap_samples(&s, w->t_first, w->t_last, w->v_first, w->delta, w->n, counter);
		return promql_extrap_at(&s, range_start, range_end, range_s);
	}
	return w->delta * e->factor;
}

/* One series' row: vals[k]/present[k] for every step (present zeroed on entry). resets has room
 * for np entries. Returns the number of steps with a value, or -1 when a window holds more than
 * max_window samples (*window_n set). */
static long rate_row(const rate_spec *rs, rate_memo *memo, const tsdb_sample *p, size_t np, uint32_t *resets,
		     double *vals, uint8_t *present, size_t *window_n)
{
	if (rs->counter)
		reset_prefix(resets, p, np);
	const uint32_t *rp = rs->counter ? resets : NULL;
	rate_win w = {0};
	size_t w_lo = (size_t)-1, w_hi = 0, lo = 0, hi = 0;
	long got = 0;
	for (size_t k = 0; k < rs->nsteps; k++) {
		int64_t ts = rs->g_start + (int64_t)k * rs->step - rs->off;
		while (lo < np && p[lo].t <= ts - rs->range)
			lo++;
		if (hi < lo)
			hi = lo;
		while (hi < np && p[hi].t <= ts)
			hi++;
		if (hi <= lo)
			continue;
		if (hi - lo > rs->max_window) {
			*window_n = hi - lo;
			return -1;
		}
		if (hi - lo < 2)
			continue;
		if (lo != w_lo || hi != w_hi) { /* else the same samples as the last step */
			w = (rate_win){p[lo].t, p[hi - 1].t, p[lo].v, window_delta(p, lo, hi, rp), hi - lo};
			w_lo = lo;
			w_hi = hi;
		}
		vals[k] = extrap_memo(memo, &w, rs->counter, ts - rs->range, ts, rs->range_s);
		present[k] = 1;
		got++;
	}
	return got;
}

/* Reading series i: the records of series i + 16 and the chunk bytes of series i + 8 are
 * requested now (two cache misses per series otherwise wait in turn). */
static void prefetch_ahead(tsdb_querier *q, const tsdb_ref *refs, size_t i, size_t end)
{
	if (i + 16 < end)
		tsdb_querier_prefetch(q, refs[i + 16], 0);
	if (i + 8 < end)
		tsdb_querier_prefetch(q, refs[i + 8], 1);
}

/*
 * The pipeline. Series are cut into blocks of consecutive series; any thread claims the next
 * unclaimed block (a counter under mu), computes its rows into that block's slot, and marks it
 * ready. The calling thread hands blocks on in order: while the block it needs next is not ready,
 * it claims and computes blocks itself (so the threads balance themselves: the caller also does
 * all the handing on); when there is nothing left to claim, it waits. At most RATE_SLOTS blocks
 * are claimed and not yet handed on (slot = block % RATE_SLOTS), so memory is RATE_SLOTS blocks,
 * reused, whatever the series count.
 */
#define RATE_SLOTS 8
#define RATE_MAX_THREADS 4               /* the caller included */
#define RATE_MIN_SERIES_PARALLEL 512     /* fewer series: the caller alone */
#define RATE_BLOCK_BYTES ((size_t)256 << 10) /* rows of one block, roughly */
#define RATE_BLOCK_MAX 512

/* A block's outcome codes. */
enum { BLK_OK = 0, BLK_OOM, BLK_STORAGE, BLK_WINDOW, BLK_EXPIRED };

typedef struct rate_slot {
	int state;                  /* SLOT_FREE, SLOT_BUSY (being computed), SLOT_READY */
	size_t block;
	size_t nrows;
	size_t *row_series;         /* selector index of each row with values */
	unsigned char *data;        /* block x rowbytes: per row nsteps doubles, then nsteps flags */
	uint64_t loaded;
	int err;
	long err_arg;               /* storage error code or window size */
} rate_slot;

enum { SLOT_FREE = 0, SLOT_BUSY, SLOT_READY };

/* What one thread needs to compute blocks: its own reader and scratch. */
typedef struct rate_worker {
	tsdb_querier *q;
	bool own_q;                 /* opened here (workers); the caller borrows the query's */
	tsdb_sample *sbuf;
	size_t cap, rcap;
	uint32_t *resets;
	rate_memo memo;
	pthread_t thread;
	bool started;
	struct rate_pipe *pipe;
} rate_worker;

typedef struct rate_pipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const rate_spec *rs;
	const ev_ctx *c;            /* read only from workers: the deadline */
	const tsdb_ref *refs;
	size_t n, block, nblocks;   /* series, series per block, blocks */
	size_t rowbytes;
	int64_t lo, hi;             /* samples in (lo, hi] */
	size_t next_claim;          /* under mu */
	size_t next_deliver;        /* under mu */
	bool stop;                  /* under mu: the caller gave up */
	rate_slot slots[RATE_SLOTS];
} rate_pipe;

/* Reads ref's samples in (lo, hi] without stale markers into *sbuf. */
static long read_clean(tsdb_querier *q, tsdb_ref ref, int64_t lo, int64_t hi, tsdb_sample **sbuf, size_t *cap)
{
	long got = tsdb_querier_samples(q, ref, lo + 1, hi, sbuf, cap);
	return got <= 0 ? got : (long)promql__drop_stale(*sbuf, (size_t)got);
}

/* Computes block b into slot sl (no lock held: the slot is this thread's until marked ready). */
static void block_compute(rate_pipe *pp, rate_worker *w, size_t b, rate_slot *sl)
{
	const rate_spec *rs = pp->rs;
	size_t from = b * pp->block, to = from + pp->block < pp->n ? from + pp->block : pp->n;
	sl->nrows = 0;
	sl->loaded = 0;
	sl->err = BLK_OK;
	if (promql__expired(pp->c)) {
		sl->err = BLK_EXPIRED;
		return;
	}
	for (size_t i = from; i < to; i++) {
		prefetch_ahead(w->q, pp->refs, i, to);
		long np = read_clean(w->q, pp->refs[i], pp->lo, pp->hi, &w->sbuf, &w->cap);
		if (np < 0) {
			sl->err = BLK_STORAGE;
			sl->err_arg = np;
			return;
		}
		if (np == 0)
			continue;
		sl->loaded += (uint64_t)np;
		if ((size_t)np > w->rcap) {
			uint32_t *nr = realloc(w->resets, (size_t)np * sizeof *nr);
			if (!nr) {
				sl->err = BLK_OOM;
				return;
			}
			w->resets = nr;
			w->rcap = (size_t)np;
		}
		unsigned char *row = sl->data + sl->nrows * pp->rowbytes;
		double *vals = (double *)row;
		uint8_t *present = row + rs->nsteps * sizeof(double);
		memset(present, 0, rs->nsteps);
		size_t wn = 0;
		long got = rate_row(rs, &w->memo, w->sbuf, (size_t)np, w->resets, vals, present, &wn);
		if (got < 0) {
			sl->err = BLK_WINDOW;
			sl->err_arg = (long)wn;
			return;
		}
		if (got > 0)
			sl->row_series[sl->nrows++] = i;
	}
}

/* Under mu: claims the next block if its slot is free; returns the slot or NULL. */
static rate_slot *claim_locked(rate_pipe *pp, size_t *b)
{
	if (pp->stop || pp->next_claim >= pp->nblocks || pp->next_claim >= pp->next_deliver + RATE_SLOTS)
		return NULL;
	*b = pp->next_claim++;
	rate_slot *sl = &pp->slots[*b % RATE_SLOTS];
	sl->state = SLOT_BUSY;
	sl->block = *b;
	return sl;
}

static void compute_and_publish(rate_pipe *pp, rate_worker *w, size_t b, rate_slot *sl)
{
	block_compute(pp, w, b, sl);
	pthread_mutex_lock(&pp->mu);
	sl->state = SLOT_READY;
	pthread_cond_broadcast(&pp->cv);
	pthread_mutex_unlock(&pp->mu);
}

static void *worker_run(void *arg)
{
	rate_worker *w = arg;
	rate_pipe *pp = w->pipe;
	pthread_mutex_lock(&pp->mu);
	for (;;) {
		size_t b;
		rate_slot *sl = claim_locked(pp, &b);
		if (!sl) {
			if (pp->stop || pp->next_claim >= pp->nblocks)
				break;
			pthread_cond_wait(&pp->cv, &pp->mu); /* all slots in flight: wait for a delivery */
			continue;
		}
		pthread_mutex_unlock(&pp->mu);
		compute_and_publish(pp, w, b, sl);
		pthread_mutex_lock(&pp->mu);
	}
	pthread_mutex_unlock(&pp->mu);
	return NULL;
}

/* Sets the query's error for a failed block. */
static int block_error(ev_ctx *c, const rate_slot *sl)
{
	switch (sl->err) {
	case BLK_OOM:
		return promql__oom(c);
	case BLK_STORAGE:
		c->errtype = PROMQL_ERRTYPE_INTERNAL;
		snprintf(c->err, sizeof c->err, "reading samples: storage error %ld", sl->err_arg);
		return -1;
	case BLK_WINDOW:
		return promql__account(c, (size_t)sl->err_arg);
	default: /* expired */
		if (promql__check_deadline(c) < 0)
			return -1;
		c->errtype = PROMQL_ERRTYPE_TIMEOUT;
		snprintf(c->err, sizeof c->err, "query timed out in expression evaluation");
		return -1;
	}
}

/* Hands one row to the consumer: the sink, or the rowcall's storage (copied into the query
 * arena). Adds the counter annotation as eval_range_fn would. */
static int deliver(ev_ctx *c, ev_rowcall *rc, const ev_selcache *sc, size_t i, const ev_row_sink *sink,
		   double *vals, uint8_t *present, size_t nsteps, bool counter)
{
	if (counter) {
		ev_series s1 = {sc->ls[i], NULL, 0, false, sc->counter_name[i], 0};
		promql__counter_info(c, rc->node, &s1);
	}
	if (sink)
		return sink->fn(sink->ud, &sc->ls[i], true, vals, present);
	double *v = arena_alloc(c->qa, nsteps * sizeof *v);
	uint8_t *p = arena_alloc(c->qa, nsteps);
	if (!v || !p)
		return promql__oom(c);
	memcpy(v, vals, nsteps * sizeof *v);
	memcpy(p, present, nsteps);
	rc->ls[rc->nrows] = sc->ls[i];
	rc->drop[rc->nrows] = true;
	rc->vals[rc->nrows] = v;
	rc->present[rc->nrows++] = p;
	return 0;
}

/* Hands on slot sl's rows in order; 0, or -1 with the query's error set. */
static int deliver_block(ev_ctx *c, ev_rowcall *rc, const ev_selcache *sc, const ev_row_sink *sink,
			 const rate_pipe *pp, const rate_slot *sl, size_t *total)
{
	const rate_spec *rs = pp->rs;
	c->samples_loaded += sl->loaded;
	/* rows computed before a failure are handed on first, as a sequential run would have */
	for (size_t r = 0; r < sl->nrows; r++) {
		unsigned char *d = sl->data + r * pp->rowbytes;
		double *v = (double *)d;
		uint8_t *pr = d + rs->nsteps * sizeof(double);
		size_t got = 0;
		for (size_t k = 0; k < rs->nsteps; k++)
			got += pr[k];
		if ((*total += got) > c->max_samples)
			return promql__account(c, *total);
		if (deliver(c, rc, sc, sl->row_series[r], sink, v, pr, rs->nsteps, rs->counter) < 0)
			return -1;
	}
	return sl->err == BLK_OK ? 0 : block_error(c, sl);
}

static size_t online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (size_t)n;
}

int promql__rate_rows(ev_ctx *c, ev_rowcall *rc, ev_selcache *sc, const ev_row_sink *sink)
{
	const promql_node *n = rc->node, *msel = rc->msel;
	promql_func_id id = n->call.func->id;
	rate_spec rs = {.g_start = rc->g_start,
			.step = rc->g_step,
			.off = msel->matrix.vs->vs.offset_ms,
			.range = msel->matrix.range_ms,
			.nsteps = (size_t)((rc->g_end - rc->g_start) / rc->g_step) + 1,
			.counter = id != PROMQL_FN_DELTA,
			.range_s = id == PROMQL_FN_RATE ? (double)msel->matrix.range_ms / 1000 : 0,
			.max_window = c->max_samples};
	for (size_t i = 0; i < sc->n; i++)
		if (!sc->counter_name[i])
			sc->counter_name[i] = promql__counter_name(&sc->ls[i]);
	if (sc->n == 0 || !c->q) /* no storage: no samples, no rows */
		return 0;

	rate_pipe *pp = calloc(1, sizeof *pp);
	rate_worker *ws = calloc(RATE_MAX_THREADS, sizeof *ws);
	size_t nthreads = online_cpus(), total = 0;
	int ret = -1;
	if (!pp || !ws) {
		free(pp);
		free(ws);
		return promql__oom(c);
	}
	if (nthreads > RATE_MAX_THREADS)
		nthreads = RATE_MAX_THREADS;
	if (sc->n < RATE_MIN_SERIES_PARALLEL)
		nthreads = 1;
	pthread_mutex_init(&pp->mu, NULL);
	pthread_cond_init(&pp->cv, NULL);
	pp->rs = &rs;
	pp->c = c;
	pp->refs = sc->refs;
	pp->n = sc->n;
	pp->rowbytes = (rs.nsteps * (sizeof(double) + 1) + 15) & ~(size_t)15; /* rows stay aligned */
	pp->block = RATE_BLOCK_BYTES / pp->rowbytes;
	pp->block = pp->block < 4 ? 4 : pp->block > RATE_BLOCK_MAX ? RATE_BLOCK_MAX : pp->block;
	if (pp->block > sc->n) /* a rule's few series: no bigger buffers than needed */
		pp->block = sc->n;
	pp->nblocks = (sc->n + pp->block - 1) / pp->block;
	pp->lo = rc->g_start - rs.off - rs.range;
	pp->hi = rc->g_end - rs.off;
	size_t nslots = pp->nblocks < RATE_SLOTS ? pp->nblocks : RATE_SLOTS;
	for (size_t k = 0; k < nslots; k++) {
		pp->slots[k].data = malloc(pp->block * pp->rowbytes);
		pp->slots[k].row_series = malloc(pp->block * sizeof *pp->slots[k].row_series);
		if (!pp->slots[k].data || !pp->slots[k].row_series) {
			promql__oom(c);
			goto done;
		}
	}
	if (!sink) {
		rc->ls = arena_alloc(c->qa, sc->n * sizeof *rc->ls);
		rc->drop = arena_alloc(c->qa, sc->n * sizeof *rc->drop);
		rc->vals = arena_alloc(c->qa, sc->n * sizeof *rc->vals);
		rc->present = arena_alloc(c->qa, sc->n * sizeof *rc->present);
		if (!rc->ls || !rc->drop || !rc->vals || !rc->present) {
			promql__oom(c);
			goto done;
		}
	}
	/* ws[0] is the caller: it reads through the query's querier (and its sample buffer) */
	for (size_t t = 0; t < nthreads; t++) {
		ws[t].pipe = pp;
		if (memo_init(&ws[t].memo, sc->n >= 64 ? RATE_MEMO : RATE_MEMO_SMALL) < 0) {
			promql__oom(c);
			goto done;
		}
	}
	ws[0].q = c->q;
	for (size_t t = 1; t < nthreads; t++) {
		ws[t].q = tsdb_querier_open(c->db, pp->lo + 1, pp->hi);
		ws[t].own_q = ws[t].q != NULL;
		ws[t].started = ws[t].q && pthread_create(&ws[t].thread, NULL, worker_run, &ws[t]) == 0;
	}
	for (size_t b = 0; b < pp->nblocks; b++) {
		rate_slot *sl = &pp->slots[b % RATE_SLOTS];
		pthread_mutex_lock(&pp->mu);
		while (!(sl->state == SLOT_READY && sl->block == b)) {
			size_t cb;
			rate_slot *mine = claim_locked(pp, &cb);
			if (mine) {
				pthread_mutex_unlock(&pp->mu);
				compute_and_publish(pp, &ws[0], cb, mine);
				pthread_mutex_lock(&pp->mu);
				continue;
			}
			pthread_cond_wait(&pp->cv, &pp->mu);
		}
		pthread_mutex_unlock(&pp->mu);
		int rc2 = deliver_block(c, rc, sc, sink, pp, sl, &total);
		pthread_mutex_lock(&pp->mu);
		sl->state = SLOT_FREE;
		pp->next_deliver = b + 1;
		pthread_cond_broadcast(&pp->cv);
		pthread_mutex_unlock(&pp->mu);
		if (rc2 < 0)
			goto done;
	}
	ret = 0;
done:
	pthread_mutex_lock(&pp->mu);
	pp->stop = true;
	pthread_cond_broadcast(&pp->cv);
	pthread_mutex_unlock(&pp->mu);
	for (size_t t = 0; t < RATE_MAX_THREADS; t++) {
		if (ws[t].started)
			pthread_join(ws[t].thread, NULL);
		if (ws[t].own_q)
			tsdb_querier_close(ws[t].q);
		free(ws[t].sbuf);
		free(ws[t].resets);
		free(ws[t].memo.e);
	}
	for (size_t k = 0; k < RATE_SLOTS; k++) {
		free(pp->slots[k].data);
		free(pp->slots[k].row_series);
	}
	pthread_cond_destroy(&pp->cv);
	pthread_mutex_destroy(&pp->mu);
	free(pp);
	free(ws);
	return ret;
}
