/*
 * raterows.c — rate(), increase() and delta() over plain range selectors in range queries, for
 * every step at once and for several series in parallel: the most common shape of a dashboard
 * query (`sum by (x) (rate(m[5m]))` over hours at a 15 s step).
 *
 * Per series: its samples for the whole query range are read once; the window (t - range, t] of
 * each step is found by two cursors that only move forward; the window's delta is last - first
 * (plus, for counters, the value before each reset, added in order exactly as extrapolated_rate
 * does: a prefix count of resets tells in O(1) whether a window holds one, and only those windows
 * loop); the extrapolation factor, which depends on the window's timing only, comes from a small
 * per-thread memo (see "Factor memo" below). Every value is the double the per-step path
 * computes.
 *
 * Parallelism: the selector's series are split into up to RATE_MAX_PARTS contiguous parts. Part 0
 * runs on the calling thread (a smaller part: RATE_MAIN_SHARE) and hands its rows to the consumer
 * (sink or rowcall storage) as they come; each other part runs on its own thread, with its own querier and buffers, and keeps its
 * rows (malloc'd) until the calling thread hands them on, part by part, after part 0. The consumer
 * therefore sees rows in selector order, as in a sequential run, and annotations are added in the
 * same order. Workers touch nothing shared but the read-only spec, the storage (thread-safe
 * queriers) and an atomic stop flag; errors are reported in series order. Parts run in parallel
 * only when the kept rows stay under RATE_MAX_KEPT_BYTES (else one part).
 *
 * Cost: O(samples + steps) per series; memory: one row per thread plus the kept rows of parts
 * 1.. (nsteps x 9 bytes per row).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "promql/engine_int.h"
#include "promql/extrapolate.h"

#define RATE_MAX_PARTS 4
#define RATE_MIN_SERIES_PER_PART 512
#define RATE_MAX_KEPT_BYTES ((size_t)512 << 20)
/* Part 0's size relative to an even split (it also hands every row to the consumer). */
#define RATE_MAIN_SHARE 0.8

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
#define RATE_MEMO 1024

typedef struct rate_memo_entry {
	int64_t dsm, dem, sampled_ms; /* the timing (ms); sampled_ms < 0: empty slot */
	size_t n;
	double factor;                /* ((sampled + ds + de) / sampled) [/ range_s] */
	double ds_ratio;              /* ds / sampled; NaN when sampled == 0 (no fast clamp test) */
} rate_memo_entry;

typedef struct rate_memo {
	rate_memo_entry e[RATE_MEMO];
} rate_memo;

static void memo_init(rate_memo *m)
{
	for (size_t i = 0; i < RATE_MEMO; i++)
		m->e[i].sampled_ms = -1;
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
	rate_memo_entry *e = &m->e[(h ^ (h >> 29)) & (RATE_MEMO - 1)];
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

/* A part's outcome codes. */
enum { PART_OK = 0, PART_OOM, PART_STORAGE, PART_WINDOW, PART_EXPIRED, PART_STOPPED };

/* A contiguous slice of the selector's series, computed by one worker thread. */
typedef struct rate_part {
	const rate_spec *rs;
	const ev_ctx *c;            /* read only: the deadline (promql__expired) */
	tsdb *db;
	const tsdb_ref *refs;
	size_t from, to;
	int64_t lo, hi;             /* samples in (lo, hi] */
	int *stop;                  /* atomic: set when an earlier part failed */
	/* results */
	size_t nrows, caprows;
	size_t *row_series;         /* selector index of each kept row */
	unsigned char **row_data;   /* per row: nsteps doubles then nsteps present flags */
	uint64_t loaded, values;
	int err;
	long err_arg;               /* storage error code or window size */
	pthread_t thread;
	bool started;
} rate_part;

/* Reads ref's samples in (lo, hi] without stale markers into *sbuf. */
static long read_clean(tsdb_querier *q, tsdb_ref ref, int64_t lo, int64_t hi, tsdb_sample **sbuf, size_t *cap)
{
	long got = tsdb_querier_samples(q, ref, lo + 1, hi, sbuf, cap);
	if (got <= 0)
		return got;
	size_t keep = 0;
	for (long k = 0; k < got; k++)
		if (!promql__is_stale((*sbuf)[k].v))
			(*sbuf)[keep++] = (*sbuf)[k];
	return (long)keep;
}

static int part_keep(rate_part *pt, size_t series, unsigned char *data)
{
	if (pt->nrows == pt->caprows) {
		size_t nc = pt->caprows ? pt->caprows * 2 : 256;
		size_t *ns = realloc(pt->row_series, nc * sizeof *ns);
		if (ns)
			pt->row_series = ns;
		unsigned char **nd = realloc(pt->row_data, nc * sizeof *nd);
		if (nd)
			pt->row_data = nd;
		if (!ns || !nd)
			return -1;
		pt->caprows = nc;
	}
	pt->row_series[pt->nrows] = series;
	pt->row_data[pt->nrows++] = data;
	return 0;
}

static void *part_run(void *arg)
{
	rate_part *pt = arg;
	const rate_spec *rs = pt->rs;
	size_t rowbytes = rs->nsteps * (sizeof(double) + 1);
	tsdb_sample *sbuf = NULL;
	size_t cap = 0, rcap = 0;
	uint32_t *resets = NULL;
	unsigned char *row = NULL;
	rate_memo *memo = malloc(sizeof *memo);
	tsdb_querier *q = tsdb_querier_open(pt->db, pt->lo + 1, pt->hi);
	if (!q || !memo) {
		tsdb_querier_close(q);
		free(memo);
		pt->err = PART_OOM;
		return NULL;
	}
	memo_init(memo);
	for (size_t i = pt->from; i < pt->to; i++) {
		if (((i - pt->from) & 255) == 255) {
			if (__atomic_load_n(pt->stop, __ATOMIC_RELAXED)) {
				pt->err = PART_STOPPED;
				break;
			}
			if (promql__expired(pt->c)) {
				pt->err = PART_EXPIRED;
				break;
			}
		}
		prefetch_ahead(q, pt->refs, i, pt->to);
		long np = read_clean(q, pt->refs[i], pt->lo, pt->hi, &sbuf, &cap);
		if (np < 0) {
			pt->err = PART_STORAGE;
			pt->err_arg = np;
			break;
		}
		if (np == 0)
			continue;
		pt->loaded += (uint64_t)np;
		if ((size_t)np > rcap) {
			uint32_t *nr = realloc(resets, (size_t)np * sizeof *nr);
			if (!nr) {
				pt->err = PART_OOM;
				break;
			}
			resets = nr;
			rcap = (size_t)np;
		}
		if (!row && !(row = malloc(rowbytes))) {
			pt->err = PART_OOM;
			break;
		}
		memset(row + rs->nsteps * sizeof(double), 0, rs->nsteps);
		size_t wn = 0;
		long got = rate_row(rs, memo, sbuf, (size_t)np, resets, (double *)row, row + rs->nsteps * sizeof(double),
				    &wn);
		if (got < 0) {
			pt->err = PART_WINDOW;
			pt->err_arg = (long)wn;
			break;
		}
		if (got == 0)
			continue;
		if (part_keep(pt, i, row) < 0) {
			pt->err = PART_OOM;
			break;
		}
		row = NULL;
		pt->values += (uint64_t)got;
	}
	free(row);
	free(resets);
	free(sbuf);
	free(memo);
	tsdb_querier_close(q);
	return NULL;
}

static void part_free(rate_part *pt)
{
	for (size_t r = 0; r < pt->nrows; r++)
		free(pt->row_data[r]);
	free(pt->row_data);
	free(pt->row_series);
}

/* Sets the query's error for a failed part (first failing part in series order). */
static int part_error(ev_ctx *c, const rate_part *pt)
{
	switch (pt->err) {
	case PART_OOM:
		return promql__oom(c);
	case PART_STORAGE:
		c->errtype = PROMQL_ERRTYPE_INTERNAL;
		snprintf(c->err, sizeof c->err, "reading samples: storage error %ld", pt->err_arg);
		return -1;
	case PART_WINDOW:
		return promql__account(c, (size_t)pt->err_arg);
	default: /* expired or stopped */
		if (promql__check_deadline(c) < 0)
			return -1;
		c->errtype = PROMQL_ERRTYPE_INTERNAL;
		snprintf(c->err, sizeof c->err, "internal error: rate rows stopped");
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
	int64_t lo = rc->g_start - rs.off - rs.range, hi = rc->g_end - rs.off;
	size_t nparts = online_cpus();
	if (nparts > RATE_MAX_PARTS)
		nparts = RATE_MAX_PARTS;
	if (nparts > sc->n / RATE_MIN_SERIES_PER_PART)
		nparts = sc->n / RATE_MIN_SERIES_PER_PART;
	if (nparts < 1 || !c->db || sc->n * rs.nsteps * (sizeof(double) + 1) > RATE_MAX_KEPT_BYTES)
		nparts = 1;
	for (size_t i = 0; i < sc->n; i++)
		if (!sc->counter_name[i])
			sc->counter_name[i] = promql__counter_name(&sc->ls[i]);

	int stop = 0, ret = -1;
	rate_part parts[RATE_MAX_PARTS];
	memset(parts, 0, sizeof parts);
	/* the calling thread also folds every row into the consumer, so it computes a smaller part */
	size_t to0 = nparts > 1 ? (size_t)((double)sc->n / (double)nparts * RATE_MAIN_SHARE) : sc->n;
	size_t per = nparts > 1 ? (sc->n - to0 + nparts - 2) / (nparts - 1) : 0;
	for (size_t p = 1; p < nparts; p++) {
		rate_part *pt = &parts[p];
		size_t from = to0 + (p - 1) * per, to = from + per < sc->n ? from + per : sc->n;
		*pt = (rate_part){.rs = &rs, .c = c, .db = c->db, .refs = sc->refs, .from = from < to ? from : to,
				  .to = to, .lo = lo, .hi = hi, .stop = &stop};
		if (pt->from > pt->to)
			pt->from = pt->to;
		pt->started = pthread_create(&pt->thread, NULL, part_run, pt) == 0;
	}
	double *vals = malloc(rs.nsteps * sizeof *vals);
	uint8_t *present = calloc(rs.nsteps, 1);
	rate_memo *memo = malloc(sizeof *memo);
	uint32_t *resets = NULL;
	size_t rcap = 0, total = 0;
	if (!vals || !present || !memo) {
		promql__oom(c);
		goto done;
	}
	memo_init(memo);
	if (!sink) {
		rc->ls = arena_alloc(c->qa, (sc->n ? sc->n : 1) * sizeof *rc->ls);
		rc->drop = arena_alloc(c->qa, (sc->n ? sc->n : 1) * sizeof *rc->drop);
		rc->vals = arena_alloc(c->qa, (sc->n ? sc->n : 1) * sizeof *rc->vals);
		rc->present = arena_alloc(c->qa, (sc->n ? sc->n : 1) * sizeof *rc->present);
		if (!rc->ls || !rc->drop || !rc->vals || !rc->present) {
			promql__oom(c);
			goto done;
		}
	}
	/* part 0 here, rows handed on as they come */
	for (size_t i = 0; i < to0; i++) {
		if ((i & 255) == 255 && promql__check_deadline(c) < 0)
			goto done;
		if (c->q)
			prefetch_ahead(c->q, sc->refs, i, to0);
		long np = promql__read_series(c, sc->refs[i], lo, hi);
		if (np < 0)
			goto done;
		if (np == 0)
			continue;
		if ((size_t)np > rcap) {
			uint32_t *nr = realloc(resets, (size_t)np * sizeof *nr);
			if (!nr) {
				promql__oom(c);
				goto done;
			}
			resets = nr;
			rcap = (size_t)np;
		}
		size_t wn = 0;
		long got = rate_row(&rs, memo, c->sbuf, (size_t)np, resets, vals, present, &wn);
		if (got < 0) {
			promql__account(c, wn);
			goto done;
		}
		if (got == 0)
			continue;
		if ((total += (size_t)got) > c->max_samples) {
			promql__account(c, total);
			goto done;
		}
		if (deliver(c, rc, sc, i, sink, vals, present, rs.nsteps, rs.counter) < 0)
			goto done;
		memset(present, 0, rs.nsteps);
	}
	/* then the other parts' rows, in order */
	for (size_t p = 1; p < nparts; p++) {
		rate_part *pt = &parts[p];
		if (pt->started) {
			pthread_join(pt->thread, NULL);
			pt->started = false;
		} else {
			part_run(pt); /* no thread: compute it here */
		}
		c->samples_loaded += pt->loaded;
		if (pt->err != PART_OK) {
			part_error(c, pt);
			goto done;
		}
		for (size_t r = 0; r < pt->nrows; r++) {
			unsigned char *d = pt->row_data[r];
			double *v = (double *)d;
			uint8_t *pr = d + rs.nsteps * sizeof(double);
			size_t got = 0;
			for (size_t k = 0; k < rs.nsteps; k++)
				got += pr[k];
			if ((total += got) > c->max_samples) {
				promql__account(c, total);
				goto done;
			}
			if (deliver(c, rc, sc, pt->row_series[r], sink, v, pr, rs.nsteps, rs.counter) < 0)
				goto done;
		}
	}
	ret = 0;
done:
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (size_t p = 1; p < nparts; p++) {
		if (parts[p].started)
			pthread_join(parts[p].thread, NULL);
		part_free(&parts[p]);
	}
	free(vals);
	free(present);
	free(memo);
	free(resets);
	return ret;
}
