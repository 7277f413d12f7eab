/*
 * eval_fast.h — internal to the slo module: incremental evaluation of an SLO's long recording
 * rules (see eval_fast.c). Not a public header.
 */
#ifndef SLOD_SLO_EVAL_FAST_H
#define SLOD_SLO_EVAL_FAST_H

#include <stdbool.h>
#include <stdint.h>

#include "rules/rules.h"
#include "slo/slo.h"
#include "tsdb/tsdb.h"
#include "util/arena.h"

typedef struct slo__fast slo__fast;

/* Sets up the fast path for one SLO. Returns NULL when the SLI is not of a supported shape (an
 * events SLI whose error and total queries are both `sum(rate(SELECTOR[{{.window}}]))`) or on
 * OOM; the SLO then stays wholly with the rules manager. period_src is the recorded series the
 * period rule averages ("slo:sli_error:ratio_rate5m"). */
slo__fast *slo__fast_new(const slo_spec *sp, int64_t bucket_ms, int64_t min_window_ms, int64_t period_ms,
			 const char *period_src);
void slo__fast_free(slo__fast *f);

/* Takes over the rules of the SLO's sli-recordings group g that the fast path computes (windows
 * >= min_window_ms and the period rule): *out is g without them (rules array in a). Returns the
 * number of rules taken (0: *out = *g), or -1 on OOM. */
int slo__fast_take_rules(slo__fast *f, const rules_group_def *g, arena *a, rules_group_def *out);

/* The oldest timestamp slo__fast_eval may read at now: through the counters' querier
 * (period = false) or the period rule's (period = true). */
int64_t slo__fast_horizon(const slo__fast *f, int64_t now, bool period);

/* Computes every taken rule at now and stages its sample (or a stale marker when the rule had a
 * value last time and has none now) on app. qc must cover [slo__fast_horizon(now, false), now]
 * and qp [slo__fast_horizon(now, true), now]: separate queriers, so that counters that stopped
 * long ago (but within the period) are not even selected. Returns the number of samples staged,
 * or -1. */
int slo__fast_eval(slo__fast *f, tsdb_querier *qc, tsdb_querier *qp, tsdb_appender *app, int64_t now);

/* Samples with timestamps >= t_min were committed after some buckets that cover them had been
 * summarised (a backfill or import; see tsdb_watch_take). Every series whose summaries reach
 * t_min forgets the buckets from the one holding t_min on; the next slo__fast_eval summarises them
 * again from the stored samples (a full rebuild of that series when t_min is older than its ring).
 * Cost: O(series) now, O(samples since t_min, at most the ring) at the next evaluation. */
void slo__fast_invalidate(slo__fast *f, int64_t t_min);

/* Raw sample reads (ring rebuilds, window edges) span at most `buckets` buckets each; <= 0: no
 * limit (one read per piece). Any value gives the same summaries and values, bit for bit; it bounds
 * the samples decoded at once to one slice of one series. Default: no limit (the engine sets it). */
void slo__fast_set_rebuild_slice(slo__fast *f, int64_t buckets);

/* Observability: *peak_read = the most samples one raw read returned since creation (what a
 * rebuild holds at once); *scratch_bytes = the sample scratch buffer held now (released after an
 * evaluation once it grew past 1,024 samples); *state_bytes = the summaries and series tables. */
void slo__fast_stats(const slo__fast *f, size_t *peak_read, size_t *scratch_bytes, size_t *state_bytes);

#endif
