/*
 * extrapolate.c — promql_extrapolate(): Prometheus's rate/increase/delta extrapolation (see
 * extrapolate.h for the rule). Pure arithmetic on one window summary; no state, O(1).
 *
 * Worked example: increase over (0 s, 60 s] of a counter sampled 10@15 s, 20@30 s, 30@45 s:
 * delta 20 over a sampled 30 s, average interval 15 s (threshold 16.5 s); start gap 15 s, but the
 * counter would reach zero 15 s before the first sample (30 s × 10/20), so the start stretches 15 s;
 * end gap 15 s; factor (30 + 15 + 15) / 30 = 2, result 40 (rate: 40 / 60 s).
 */
#include "promql/extrapolate.h"

double promql_extrapolate(const promql_extrap_in *in)
{
	promql_extrap_samples_t w;
	promql_extrap_samples(&w, in->t_first, in->t_last, in->v_first, in->delta, in->n, in->is_counter);
	double range_s = in->is_rate ? (double)(in->range_end - in->range_start) / 1000 : 0;
	return promql_extrap_at(&w, in->range_start, in->range_end, range_s);
}
