/*
 * ingest_internal.h — what remote_write.c, text.c and ingest.c share: the context layout and the
 * per-series validate/append path. Not part of the public API.
 *
 * Invariants: between calls the arena is reset, the appender has nothing staged and the detail
 * buffers are empty. scratch has room for lim.max_labels_per_series labels.
 */
#ifndef SLOD_INGEST_INTERNAL_H
#define SLOD_INGEST_INTERNAL_H

#include <stdbool.h>

#include "ingest/ingest.h"
#include "util/arena.h"

#define INGEST__DETAIL_MAX 200

/* A label as found in a remote-write body: pointers into the decompressed bytes, with lengths,
 * not NUL-terminated. */
typedef struct ingest__raw_label {
	const char *name, *value;
	size_t nlen, vlen;
} ingest__raw_label;

struct ingest_ctx {
	tsdb *db;
	ingest_limits lim;
	slod_clock clock;
	bool has_clock;
	tsdb_appender *app;
	arena ar;                /* request arena (text format), limit lim.max_decode_bytes */
	bool ar_refused;         /* an allocation was refused by the arena limit */
	bool ar_oom;             /* an allocation failed for lack of memory */
	char *dbuf;              /* decompression buffer, kept between requests up to 4 MiB */
	size_t dcap;
	slod_label *scratch;     /* lim.max_labels_per_series entries */
	ingest__raw_label *rawlab; /* lim.max_labels_per_series entries (remote write) */
	char *strbuf;            /* one series' label strings + hash input (remote write), kept */
	size_t strcap;
	uint32_t *syms;          /* remote-write 2.0 symbol table: (offset, length) pairs into the body */
	size_t symcap;           /* pairs */
	/* remote-write 1.0 series validated but not yet appended (remote_write.c batches them so the
	 * label-map slot of series i+16 can be prefetched before series i is added): */
	struct ingest__pending *bat; /* INGEST__BATCH entries */
	size_t bat_n;                /* entries in use */
	slod_label *bat_labs;        /* their labels, bat_labcap >= lim.max_labels_per_series entries */
	size_t bat_nlab, bat_labcap;
	size_t bat_str;              /* bytes at the start of strbuf their label strings use */
	int64_t now_ms;          /* clock reading for this request */
	uint64_t pending;        /* samples staged in this request */
	bool fatal;              /* NOMEM/CLOSED from tsdb: stop, roll back */
	ingest_outcome fatal_outcome;
	char reject_detail[INGEST__DETAIL_MAX]; /* first rejected series, "" if none */
	char sample_detail[INGEST__DETAIL_MAX]; /* first rejected sample, "" if none */
};

/* Size of the remote-write 1.0 append batch, and the label capacity per entry it is sized for. */
#define INGEST__BATCH 128
#define INGEST__BATCH_LABELS 16

/* One remote-write 1.0 series waiting in the batch: canonical labels (in bat_labs/strbuf), their
 * hash, where its samples are in the body, and the result counters right after it was walked
 * (restored if the request stops at this series, so results equal one-series-at-a-time). */
struct ingest__pending {
	slod_labels ls;
	uint64_t hash;
	size_t lo, hi;
	uint64_t series, samples, exemplars, histograms, metadata;
};

/* Starts a request: zeroes *res, resets per-request state, reads the clock. */
void ingest__begin(ingest_ctx *cx, ingest_result *res);

/* Canonicalises ls in place (sort, duplicate-name check, __name__ check, then drops empty values)
 * after the caller has checked each label on its own (lengths, name syntax, UTF-8). Returns 0, or
 * -1 after counting the series (nsamples samples) as rejected and recording the reason. */
int ingest__canonicalise(ingest_ctx *cx, slod_labels *ls, uint64_t nsamples, ingest_result *res);

/* Counts a series with nsamples samples as rejected for its labels; records the first reason
 * (printf-style) with the series text. ls may be NULL. */
void ingest__reject_series(ingest_ctx *cx, ingest_result *res, const slod_labels *ls, uint64_t nsamples,
			   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* One canonical series being appended: hash computed once, ref known after the first sample
 * tsdb accepted. */
typedef struct ingest__series {
	const slod_labels *ls;
	uint64_t hash;
	tsdb_ref ref;
	bool dead;  /* refused by the series limit / invalid in tsdb: skip its remaining samples */
	bool has_last;      /* a sample of this series was staged in this request */
	int64_t last_t;     /* ... at this timestamp */
	uint64_t last_bits; /* ... with these value bits */
} ingest__series;

void ingest__series_start(ingest__series *s, const slod_labels *ls);
/* Stages one sample: add_hashed until a ref is known, then add_ref. Counts the outcome in res.
 * A repeat of the timestamp just staged for this series is decided here (tsdb only compares with
 * committed samples when staging): same bits = duplicate, else duplicate_timestamp.
 * Returns 0 to go on, or -1 when the caller must stop the whole request (cx->fatal set). Samples of
 * a dead series are counted as rejected without calling tsdb. */
int ingest__append(ingest_ctx *cx, ingest__series *s, int64_t t, double v, ingest_result *res);

/* Commits (or rolls back when cx->fatal or decode failed) and fills outcome + message from the
 * counters. Returns res->outcome. */
ingest_outcome ingest__finish(ingest_ctx *cx, ingest_result *res);

/* Ends a request that stores nothing: rolls back, sets outcome and message (printf-style). */
ingest_outcome ingest__fail(ingest_ctx *cx, ingest_result *res, ingest_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
