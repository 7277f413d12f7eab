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
	double result = in->delta;
	double dur_start = (double)(in->t_first - in->range_start) / 1000;
	double dur_end = (double)(in->range_end - in->t_last) / 1000;
	double sampled = (double)(in->t_last - in->t_first) / 1000;
	double avg = sampled / (double)(in->n - 1);
	double thr = avg * 1.1;
	if (dur_start >= thr)
		dur_start = avg / 2;
	if (in->is_counter) {
		double dur_zero = dur_start;
		if (result > 0 && in->v_first >= 0)
			dur_zero = sampled * (in->v_first / result);
		if (dur_zero < dur_start)
			dur_start = dur_zero;
	}
	if (dur_end >= thr)
		dur_end = avg / 2;
	double factor = 1.0;
	if (sampled != 0)
		factor = (sampled + dur_start + dur_end) / sampled;
	if (in->is_rate)
		factor /= (double)(in->range_end - in->range_start) / 1000;
	return result * factor;
}
