/*
 * tsdb.h — slod's storage engine: series identified by label sets, samples in Gorilla/XOR chunks,
 * a write-ahead log, snapshots and retention. Public API; knows nothing of PromQL or HTTP.
 *
 * Concurrency: every function is thread-safe unless noted. Any number of appenders and queriers
 * may run at once; no lock is held across a whole request.
 *
 * Durability: tsdb_appender_commit() returns 0 only after the batch is in the WAL according to the
 * fsync policy (see docs/format/wal.md): with TSDB_FSYNC_ALWAYS (default) the WAL is fsynced
 * (group commit: concurrent commits share one fsync) before commit returns. With every policy the
 * batch has been write()n before commit returns, so acknowledged samples survive the death of the
 * process (kill -9); fsync adds survival of power loss.
 *
 * Time is int64 milliseconds since the Unix epoch. Values are IEEE doubles stored bit-exactly
 * (the Prometheus stale marker NaN 0x7ff0000000000002 survives storage and WAL).
 */
#ifndef SLOD_TSDB_H
#define SLOD_TSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/labels.h"
#include "util/log.h"

#define TSDB_STALE_NAN_BITS 0x7ff0000000000002ULL

/* Error codes (negative). */
enum {
	TSDB_OK = 0,
	TSDB_ERR_NOMEM = -1,
	TSDB_ERR_IO = -2,
	TSDB_ERR_OUT_OF_ORDER = -3,  /* older than the series' newest sample minus the OOO window */
	TSDB_ERR_TOO_OLD = -4,       /* older than the retention horizon: max(newest sample stored,
	                              * now of the last retention pass) - retention */
	TSDB_ERR_DUPLICATE = -5,     /* same timestamp, different value */
	TSDB_ERR_INVALID = -6,       /* bad labels or arguments */
	TSDB_ERR_LIMIT = -7,         /* series limit reached */
	TSDB_ERR_CLOSED = -8,
};

typedef enum tsdb_fsync_policy {
	TSDB_FSYNC_ALWAYS = 0, /* fsync before commit returns (group commit) */
	TSDB_FSYNC_INTERVAL,   /* write() before commit returns, fsync every fsync_interval_ms */
	TSDB_FSYNC_NEVER,      /* write() before commit returns; the OS decides */
} tsdb_fsync_policy;

typedef struct tsdb_options {
	const char *dir;            /* data directory; NULL = memory only, no WAL */
	int64_t retention_ms;       /* 0 = keep forever */
	int64_t ooo_window_ms;      /* accept samples this much older than a series' newest */
	tsdb_fsync_policy fsync_policy;
	int64_t fsync_interval_ms;
	size_t max_series;          /* 0 = unlimited */
	slod_logger logger;         /* replay progress, torn-tail truncation, retention */
	uint64_t checkpoint_wal_bytes; /* automatic checkpoint once the WAL grows past this; 0 = 64 MiB */
} tsdb_options;

/* Fills defaults: memory only, retention 35d, OOO window 0, fsync always. */
void tsdb_options_default(tsdb_options *o);

typedef struct tsdb tsdb;
typedef uint64_t tsdb_ref;  /* series id, > 0, stable for the life of the series */

/* Opens (creating dir if needed) and replays snapshot + WAL. On failure returns a negative code,
 * *out is NULL and err holds a message. */
int tsdb_open(const tsdb_options *opt, tsdb **out, char *err, size_t errlen);
/* Flushes the WAL and frees everything. NULL is a no-op. */
void tsdb_close(tsdb *db);

/* ---- appending ---- */

typedef struct tsdb_appender tsdb_appender;

/* An appender batches samples of one request; it is not shared between threads. */
tsdb_appender *tsdb_appender_new(tsdb *db);
/* Looks up or creates the series for ls (canonical: sorted, unique names, no empty values; the
 * strings are copied/interned) and stages one sample. Returns 0, 1 if the sample was a duplicate
 * dropped quietly (same t and same value bits), or a negative code (the sample is not staged and
 * the appender stays usable). *ref, if not NULL, receives the series id. */
int tsdb_appender_add(tsdb_appender *a, const slod_labels *ls, int64_t t, double v, tsdb_ref *ref);
/* Same with a label-set hash computed by the caller (labels_hash) to avoid hashing twice. */
int tsdb_appender_add_hashed(tsdb_appender *a, const slod_labels *ls, uint64_t hash, int64_t t, double v,
			     tsdb_ref *ref);
/* Optional hint: starts loading the label-set map slot for hash (labels_hash) into the cache. A
 * caller adding many series (e.g. one remote-write request) calls it for series i+16 before adding
 * series i, hiding the memory latency of the lookup: measured 0.14 instead of 0.21-0.25 CPU-s per
 * million samples (100k series, add_hashed). Never blocks, never fails, changes nothing. */
void tsdb_prefetch_hash(tsdb *db, uint64_t hash);
/* Stages a sample for a known series id. */
int tsdb_appender_add_ref(tsdb_appender *a, tsdb_ref ref, int64_t t, double v);
/* Writes the staged samples to the WAL (per the fsync policy) and makes them visible to queries.
 * Samples that became out of order or duplicate since they were staged (another appender got
 * there first) are dropped and counted in the stats. Returns 0 or TSDB_ERR_IO: if the write failed,
 * nothing from this batch is visible; if only the fsync failed, the batch is written and visible
 * but not known to be durable. TSDB_ERR_NOMEM: some samples found no memory for their chunk and
 * are not visible (the rest are; a retry of the batch completes it, repeats are dropped). The appender is reset and may be reused. */
int tsdb_appender_commit(tsdb_appender *a);
/* Drops staged samples. */
void tsdb_appender_rollback(tsdb_appender *a);
/* For derived data that is recomputed anyway (recording rules, SLO recordings): commits of this
 * appender write the WAL (so they survive a process crash) but do not wait for its fsync under
 * TSDB_FSYNC_ALWAYS; the next group fsync, or the next acknowledged commit's, covers them. */
void tsdb_appender_set_no_sync(tsdb_appender *a, bool no_sync);
void tsdb_appender_free(tsdb_appender *a);

/* ---- write watches: learning that samples were written into the past ---- */

/* A consumer that keeps results derived from stored samples (e.g. per-bucket sums) needs to know
 * when samples land in time ranges it has already read: a backfill, an import with timestamps, a
 * sender catching up, the out-of-order window. A watch is a cursor the caller owns: it remembers
 * the smallest sample timestamp committed since its owner last took it. Watches are independent
 * (any number of consumers up to TSDB_MAX_WATCHES, each sees every commit). Cost: a commit does one
 * relaxed load of the registration mask and one atomic min per registered watch (none without
 * watches); nothing per sample. */
#define TSDB_MAX_WATCHES 16

typedef struct tsdb_watch tsdb_watch;

/* Registers a watch; it sees samples committed after this call. Returns NULL when
 * TSDB_MAX_WATCHES watches are registered or out of memory. Free with tsdb_watch_free before
 * tsdb_close. */
tsdb_watch *tsdb_watch_new(tsdb *db);
/* Returns the smallest timestamp of the samples committed (accepted: appended in order or into
 * the out-of-order window; duplicates and rejects do not count) since the previous call (or the
 * creation), and starts a new interval; INT64_MAX when there were none. Guarantee: every sample
 * a later call would report as new is visible to a querier opened after this call returns, so a
 * caller that recomputes from the returned time with a new querier misses nothing. It may report
 * a timestamp earlier than needed (a commit racing with the call is reported by both), never a
 * later one. One caller at a time per watch. */
int64_t tsdb_watch_take(tsdb_watch *w);
/* Unregisters and frees. NULL is a no-op. */
void tsdb_watch_free(tsdb_watch *w);

/* ---- querying ---- */

typedef enum tsdb_match_type {
	TSDB_MATCH_EQ,
	TSDB_MATCH_NEQ,
	TSDB_MATCH_RE,
	TSDB_MATCH_NRE,
} tsdb_match_type;

/* A label matcher. For RE/NRE the caller supplies the compiled regex as a callback (the regex
 * engine belongs to the query language, not to storage); it must be fully anchored. A missing label
 * matches as the empty string, as in Prometheus. */
typedef struct tsdb_matcher {
	tsdb_match_type type;
	const char *name;
	const char *value;  /* EQ/NEQ: the value; RE/NRE: the pattern text (informational) */
	bool (*re_match)(void *re, const char *s, size_t len);
	void *re;
} tsdb_matcher;

typedef struct tsdb_sample {
	int64_t t;
	double v;
} tsdb_sample;

/* A querier pins the series it returns: labels stay valid until tsdb_querier_close(), even if
 * retention drops the series meanwhile. It sees samples committed before it was opened (and
 * possibly later ones). */
typedef struct tsdb_querier tsdb_querier;

typedef struct tsdb_series {
	tsdb_ref ref;
	const slod_labels *labels;  /* borrowed; valid until the querier closes */
} tsdb_series;

/* Opens a querier over [mint, maxt] (inclusive ms) and pins the current epoch. Returns an owned
 * querier, or NULL when out of memory. Cost: one small allocation and the pin mutex. */
tsdb_querier *tsdb_querier_open(tsdb *db, int64_t mint, int64_t maxt);
/* Releases the pin and everything the querier handed out (series arrays, labels, samples).
 * NULL is a no-op. */
void tsdb_querier_close(tsdb_querier *q);
/* Series matching all matchers with at least one sample in [mint, maxt] of the querier, sorted by
 * labels_cmp. *out is owned by the querier (freed at close). Returns 0 or a negative code. */
int tsdb_querier_select(tsdb_querier *q, const tsdb_matcher *m, size_t nm, tsdb_series **out, size_t *n);
/* Decodes the samples of ref with mint <= t <= maxt, in time order, into *buf (realloc'd as needed;
 * *cap is its capacity; the caller frees *buf). Returns the number of samples or a negative code. */
long tsdb_querier_samples(tsdb_querier *q, tsdb_ref ref, int64_t mint, int64_t maxt, tsdb_sample **buf,
			  size_t *cap);
/* A hint that tsdb_querier_samples(q, ref, ...) follows soon: loops over many series call it a few
 * series ahead so that the memory each read touches is on its way. Stage 0 fetches the series'
 * record (no lock); stage 1, issued later, the open chunk's bytes a recent window decodes (takes the
 * series lock briefly, so the record should be cached by then). No effect on results. */
void tsdb_querier_prefetch(tsdb_querier *q, tsdb_ref ref, int stage);
/* Sorted unique label names (or values of one name) over series matching m (nm may be 0 = all
 * series) in the querier's time range. Strings are borrowed from the querier; *out is owned by it. */
int tsdb_querier_label_names(tsdb_querier *q, const tsdb_matcher *m, size_t nm, const char ***out, size_t *n);
int tsdb_querier_label_values(tsdb_querier *q, const char *name, const tsdb_matcher *m, size_t nm,
			      const char ***out, size_t *n);

/* ---- maintenance and stats ---- */

/* Drops chunks wholly older than now_ms - retention and series left empty (on the second call that
 * finds them empty; their memory is freed once no querier or appender from before can use it).
 * Samples older than now_ms - retention are rejected with TSDB_ERR_TOO_OLD from then on. Bounded
 * work per call is not required; returns the number of chunks dropped. */
long tsdb_apply_retention(tsdb *db, int64_t now_ms);
/* Writes a snapshot and deletes the WAL segments it covers (docs/format/snapshot.md). Runs
 * automatically once the WAL grew by opt->checkpoint_wal_bytes. A no-op returning 0 in memory-only
 * mode. Returns 0 or a negative code with a message in err. */
int tsdb_checkpoint(tsdb *db, char *err, size_t errlen);

typedef struct tsdb_stats {
	uint64_t series;
	uint64_t samples_appended;
	uint64_t samples_out_of_order;   /* rejected */
	uint64_t samples_too_old;        /* rejected */
	uint64_t samples_duplicate;      /* dropped quietly */
	uint64_t chunks;
	uint64_t chunk_bytes;            /* compressed sample bytes in all chunks */
	uint64_t chunk_samples;          /* samples held in chunks */
	uint64_t label_bytes;            /* interned string bytes */
	uint64_t wal_bytes;
	uint64_t wal_fsyncs;
	double wal_fsync_seconds_total;
	int64_t min_time, max_time;      /* over all samples; INT64_MAX/INT64_MIN when empty */
} tsdb_stats;

/* Fills *st (fully overwritten) with counters read atomically one by one (no global snapshot:
 * two fields may straddle a concurrent commit). Takes the index read lock briefly. Never fails. */
void tsdb_get_stats(tsdb *db, tsdb_stats *st);

/* Cardinality for /api/v1/status/tsdb: the top `limit` entries of each list. Caller frees with
 * tsdb_cardinality_free. */
typedef struct tsdb_card_entry {
	char *name;
	uint64_t value;
} tsdb_card_entry;

typedef struct tsdb_cardinality {
	tsdb_card_entry *series_by_metric;      size_t n_series_by_metric;
	tsdb_card_entry *values_by_label;       size_t n_values_by_label;
	tsdb_card_entry *series_by_label_pair;  size_t n_series_by_label_pair;  /* name "k=v" */
	tsdb_card_entry *memory_by_label;       size_t n_memory_by_label;
} tsdb_cardinality;

/* Fills *out (zeroed first) with the top `limit` entries of each list, largest first; the lists
 * and their names are owned by *out. Holds the index read lock while walking every label value.
 * Returns 0, or TSDB_ERR_NOMEM with *out left empty. */
int tsdb_get_cardinality(tsdb *db, size_t limit, tsdb_cardinality *out);
/* Frees what tsdb_get_cardinality put into *c and zeroes it. NULL is a no-op. */
void tsdb_cardinality_free(tsdb_cardinality *c);

#endif
