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

#endif
