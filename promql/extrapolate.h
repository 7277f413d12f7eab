/*
 * extrapolate.h — Prometheus's extrapolation of rate(), increase() and delta() over a range window,
 * as one pure function shared by the PromQL evaluator (promql/functions.c, over raw samples) and
 * the SLO engine's incremental long windows (slo/eval_fast.c, over joined bucket summaries).
 *
 * Formula (Prometheus's extrapolatedRate): the delta between the first and last sample in the
 * window (plus, for counters, the value before each reset) is stretched from the sampled interval
 * [t_first, t_last] towards the window boundaries. Each side is stretched by its gap to the
 * boundary, unless that gap is at least 1.1 × the average sample interval, in which case it is
 * stretched by half an average interval only. For counters the start is never stretched below the
 * point where the counter would have been zero (a counter is not negative). rate divides the
 * result by the window length in seconds. Cost: O(1), no allocation.
 */
#ifndef SLOD_PROMQL_EXTRAPOLATE_H
#define SLOD_PROMQL_EXTRAPOLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The inputs of one window's extrapolation. Times are milliseconds. */
typedef struct promql_extrap_in {
	int64_t t_first, t_last;        /* first and last sample in the window, t_first <= t_last */
	double v_first;                 /* the first sample's value (counters: the zero-point limit) */
	double delta;                   /* last - first, plus (counters) the value before each reset */
	size_t n;                       /* samples in the window, >= 2 */
	int64_t range_start, range_end; /* the window (range_start, range_end], range_start < range_end */
	bool is_counter;                /* rate/increase: limit the start by the counter's zero point */
	bool is_rate;                   /* rate: per second over the window; else increase/delta */
} promql_extrap_in;

/* Returns the extrapolated rate (is_rate) or increase/delta of the window described by in.
 * Preconditions: in->n >= 2 (callers return no sample for fewer); t_first, t_last inside the
 * window. Borrows in. Bit-for-bit the value Prometheus's extrapolatedRate computes. */
double promql_extrapolate(const promql_extrap_in *in);

/*
 * The same computation in two halves, for range queries whose consecutive steps often see the
 * same samples in their windows (sample interval > step): promql_extrap_samples() depends on the
 * samples only, promql_extrap_at() adds the window boundaries. promql_extrapolate(in) ==
 * promql_extrap_at(&w, in->range_start, in->range_end, rs) with w from promql_extrap_samples and
 * rs = (range_end - range_start) / 1000 for rate, 0 otherwise (same operations, same doubles).
 */
typedef struct promql_extrap_samples_t {
	int64_t t_first, t_last;
	double delta, sampled, avg, thr, half;
	double zero;   /* counters: the start is stretched at most this far (has_zero) */
	bool has_zero;
} promql_extrap_samples_t;

static inline void promql_extrap_samples(promql_extrap_samples_t *w, int64_t t_first, int64_t t_last, double v_first,
					 double delta, size_t n, bool is_counter)
{
	w->t_first = t_first;
	w->t_last = t_last;
	w->delta = delta;
	w->sampled = (double)(t_last - t_first) / 1000;
	w->avg = w->sampled / (double)(n - 1);
	w->thr = w->avg * 1.1;
	w->half = w->avg / 2;
	w->has_zero = is_counter && delta > 0 && v_first >= 0;
	w->zero = w->has_zero ? w->sampled * (v_first / delta) : 0;
}

static inline double promql_extrap_at(const promql_extrap_samples_t *w, int64_t range_start, int64_t range_end,
				      double range_s)
{
	double dur_start = (double)(w->t_first - range_start) / 1000;
	double dur_end = (double)(range_end - w->t_last) / 1000;
	if (dur_start >= w->thr)
		dur_start = w->half;
	if (w->has_zero && w->zero < dur_start)
		dur_start = w->zero;
	if (dur_end >= w->thr)
		dur_end = w->half;
	double factor = 1.0;
	if (w->sampled != 0)
		factor = (w->sampled + dur_start + dur_end) / w->sampled;
	if (range_s != 0)
		factor /= range_s;
	return w->delta * factor;
}

#endif
