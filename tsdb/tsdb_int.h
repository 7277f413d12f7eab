/*
 * tsdb_int.h — internals shared by the tsdb source files (head.c, index.c, wal.c, snapshot.c,
 * retention.c, crc32c.c). Not part of the public API; outside tsdb/ only tests and the fuzz target
 * include it.
 *
 * Object graph of one open database (struct tsdb):
 *
 *   series slots   pages[ref >> 12][ref & 4095] -> tsdb__series *   (atomic pointers; NULL = free)
 *   series map     64 stripes, each { mutex, open-addressed table of (low 32 hash bits, ref) }
 *   index          one rwlock guarding: the intern table (refcounted strings), the postings index
 *                  name -> value -> sorted ref list, the all-series list, and series creation
 *   WAL            wal_mu guarding the segment fd and write offset; fsync_mu/cond for group commit
 *                  A commit writes its records and applies its samples to memory under wal_mu, so
 *                  memory always reflects the log order (replay reproduces exactly what queries saw)
 *                  and a checkpoint that rotates the WAL under wal_mu knows memory covers every
 *                  closed segment.
 *   maint_mu       serialises checkpoint and retention (and guards the graveyard)
 *   pin_mu         guards the list of appender/querier epoch pins
 *
 * Lock order: maint_mu -> wal_mu -> stripe mutex -> idx_lock -> series spin lock. No lock is held
 * while decoding samples for a query; writing a snapshot holds only one series' spin lock at a time,
 * while copying its bytes into the output buffer.
 *
 * Memory reclamation: series, sealed chunk buffers and interned strings removed by retention are
 * not freed at once but put on a graveyard tagged with the epoch of their removal; they are freed
 * once every appender and querier active at that time has moved on (see retention.c).
 */
#ifndef SLOD_TSDB_INT_H
#define SLOD_TSDB_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tsdb/chunk.h"
#include "tsdb/tsdb.h"

#define TSDB__PAGE_BITS 12
#define TSDB__PAGE_SIZE (1u << TSDB__PAGE_BITS)
#define TSDB__MAX_PAGES (1u << 16) /* refs < 2^28 */
#define TSDB__STRIPES 64
#define TSDB__TOMB UINT32_MAX
#define TSDB__WAL_SEGMENT_BYTES (32u << 20)
#define TSDB__CHECKPOINT_BYTES_DEFAULT (64ull << 20)

/* ---- interned strings: one malloc each; label pointers point at .s ---- */
typedef struct tsdb__istr {
	uint32_t refs;     /* live series using the string (guarded by idx_lock) */
	uint32_t len;
	uint32_t snap_idx; /* scratch for snapshot writing (maint_mu) */
	uint32_t pad;
	uint64_t hash;
	char s[];
} tsdb__istr;

static inline tsdb__istr *tsdb__istr_of(const char *s)
{
	return (tsdb__istr *)(void *)(s - offsetof(tsdb__istr, s));
}

/* ---- postings ---- */
typedef struct tsdb__postings {
	uint32_t *ids; /* sorted ascending, unique */
	uint32_t n, cap;
} tsdb__postings;

typedef struct tsdb__value_ent {
	const char *value; /* interned; NULL = empty slot */
	tsdb__postings p;
} tsdb__value_ent;

typedef struct tsdb__name_ent {
	const char *name; /* interned; NULL = empty slot */
	tsdb__value_ent *vals; /* open addressing on the interned pointer */
	uint32_t nvals, capvals;
	uint32_t nseries;      /* series carrying this name */
} tsdb__name_ent;

/* ---- series ---- */
typedef struct tsdb__chunk_meta {
	int64_t mint, maxt;
	uint8_t *data;
	uint32_t len;
	uint32_t count;
} tsdb__chunk_meta;

typedef struct tsdb__ooo {
	uint32_t n, cap;
	struct {
		int64_t t;
		uint64_t v;
	} s[]; /* sorted by t, unique */
} tsdb__ooo;

typedef struct tsdb__series {
	atomic_uint lock; /* spin lock guarding everything below except the immutable fields */
	uint32_t ref;     /* immutable */
	uint64_t hash;    /* immutable */
	slod_labels ls;   /* immutable; v[] and strings interned */
	int64_t min_t, max_t; /* over all samples (in-order and out-of-order); INT64_MAX/MIN if none */
	uint64_t last_v;      /* value bits of the sample at max_t */
	tsdb__chunk_meta *chunks; /* sealed chunks, time order */
	uint32_t nchunks, capchunks;
	tsdb__chunk_app app; /* open chunk; app.data == NULL when none */
	int64_t head_mint;   /* first t of the open chunk */
	tsdb__ooo *ooo;      /* out-of-order samples older than the chunks' newest, or NULL */
	atomic_uchar logged; /* series record is in the WAL (guarded by wal_mu for writes) */
	atomic_uchar dead;   /* removed by retention */
	uint16_t empty_passes; /* retention passes seen empty (maint_mu) */
} tsdb__series;

void tsdb__series_lock(tsdb__series *s);
void tsdb__series_unlock(tsdb__series *s);

typedef struct tsdb__stripe {
	pthread_mutex_t mu;
	struct tsdb__slot {
		uint32_t h32; /* low 32 bits of the label hash (probe start and tag) */
		uint32_t ref; /* 0 = empty, TSDB__TOMB = deleted */
	} *tab;
	uint32_t cap, n, ntomb;
	char pad[64];
} tsdb__stripe;

/* Objects waiting for reclamation. */
typedef struct tsdb__grave {
	struct tsdb__grave *next;
	uint64_t epoch;
	int kind; /* 0 = free(ptr), 1 = series (free chunks + struct) */
	void *ptr;
} tsdb__grave;

typedef struct tsdb__pin {
	struct tsdb__pin *next, *prev;
	_Atomic uint64_t epoch; /* 0 = not pinned */
} tsdb__pin;

struct tsdb {
	tsdb_options opt;
	char *dir;
	int lock_fd; /* flock'ed DIR/lock, or -1 */

	_Atomic(tsdb__series *) *_Atomic pages[TSDB__MAX_PAGES];
	tsdb__stripe stripes[TSDB__STRIPES];

	pthread_rwlock_t idx_lock;
	/* intern table (idx_lock) */
	tsdb__istr **istr;
	uint32_t istr_cap, istr_n;
	uint64_t label_bytes;
	/* postings index (idx_lock) */
	tsdb__name_ent *names;
	uint32_t names_cap, names_n;
	tsdb__postings all;
	uint32_t next_ref; /* next ref to hand out (>= 1) */
	uint64_t nseries;

	/* epochs and reclamation */
	pthread_mutex_t pin_mu;
	tsdb__pin pins; /* list head */
	_Atomic uint64_t epoch;
	tsdb__grave *graves;
	pthread_mutex_t maint_mu;
	_Atomic int64_t min_valid_t; /* retention horizon: samples older are TOO_OLD */

	/* stats */
	_Atomic uint64_t st_appended, st_ooo, st_too_old, st_dup, st_chunks, st_chunk_bytes, st_chunk_samples;
	_Atomic int64_t st_min_t, st_max_t;

	/* write watches (tsdb_watch_*): bit i of watch_used = slot i registered; watch_min[i] = the
	 * smallest sample timestamp applied since its owner last took it (INT64_MAX: none) */
	_Atomic uint32_t watch_used;
	_Atomic int64_t watch_min[TSDB_MAX_WATCHES];

	/* WAL (wal.c) */
	pthread_mutex_t wal_mu;
	int wal_fd;
	uint32_t wal_seg;    /* current segment number */
	uint64_t wal_seg_off;/* bytes in the current segment */
	uint64_t wal_written; /* logical bytes written since open (wal_mu) */
	uint64_t wal_since_ckpt;
	bool wal_broken;
	uint8_t *wal_sbuf; /* SERIES record scratch (wal_mu) */
	size_t wal_scap;
	pthread_mutex_t fsync_mu;
	pthread_cond_t fsync_cond;
	uint64_t wal_synced; /* logical offset known durable (fsync_mu) */
	bool fsyncing;
	_Atomic uint64_t st_wal_bytes, st_fsyncs, st_fsync_ns;
	pthread_t bg;
	bool bg_running;
	pthread_mutex_t bg_mu;
	pthread_cond_t bg_cond;
	bool bg_stop, bg_ckpt_wanted;
};

/* head.c */
tsdb__series *tsdb__series_get(tsdb *db, uint64_t ref);
/* Finds or creates the series for ls. With want_ref != 0 (replay), creates it with exactly that
 * ref. Returns 0 and *out, or a negative code. *created tells whether it was new. */
int tsdb__series_get_or_create(tsdb *db, const slod_labels *ls, uint64_t hash, uint32_t want_ref,
			       tsdb__series **out, bool *created);
uint64_t tsdb__pin_enter(tsdb *db, tsdb__pin *p);
void tsdb__pin_leave(tsdb *db, tsdb__pin *p);

/* index.c (callers hold idx_lock as noted) */
const char *tsdb__intern(tsdb *db, const char *s, size_t len, uint64_t hash); /* write lock */
const char *tsdb__intern_find(const tsdb *db, const char *s, size_t len);     /* read lock */
void tsdb__intern_unref(tsdb *db, const char *s, tsdb__grave **graves, uint64_t epoch); /* write */
uint64_t tsdb__str_hash(const char *s, size_t len);
uint64_t tsdb__bytes_hash(const void *p, size_t len);
int tsdb__postings_add(tsdb__postings *p, uint32_t id);
void tsdb__postings_remove(tsdb__postings *p, uint32_t id);
int tsdb__index_add(tsdb *db, const slod_labels *ls, uint32_t id);       /* write lock */
void tsdb__index_remove(tsdb *db, const slod_labels *ls, uint32_t id);   /* write lock */
tsdb__name_ent *tsdb__index_name(const tsdb *db, const char *interned); /* read lock */
tsdb__postings *tsdb__index_value(const tsdb__name_ent *ne, const char *interned);
/* Refs of live series matching all matchers (sorted ascending) into *ids (realloc'd).
 * Caller holds idx_lock for reading. Returns count or negative. */
long tsdb__index_select(tsdb *db, const tsdb_matcher *m, size_t nm, uint32_t **ids, size_t *cap);
void tsdb__index_free(tsdb *db);

/* crc32c.c */
/* CRC-32C of p[0..n) continuing crc (0 to start); hardware-accelerated when available. */
uint32_t tsdb__crc32c(uint32_t crc, const void *p, size_t n);
/* The same with the portable table path (tests compare the two). */
uint32_t tsdb__crc32c_sw(uint32_t crc, const void *p, size_t n);

/* wal.c */
int tsdb__wal_open(tsdb *db, uint32_t first_seg, char *err, size_t errlen);
struct tsdb__staged;
/* Writes the SERIES records of new_series not yet logged, then body (framed SAMPLES records),
 * applies st[0..n) to memory under the WAL lock, then applies the fsync policy.
 * Returns 0 or TSDB_ERR_IO (write failed: nothing applied; fsync failed: applied, not durable). */
int tsdb__wal_commit(tsdb *db, tsdb__series **new_series, size_t n_new, const uint8_t *body, size_t blen,
		     const struct tsdb__staged *st, size_t n, bool wait_sync);
/* Encodes a samples record for n staged samples into out (appends). */
struct tsdb__staged {
	tsdb__series *s;
	int64_t t;
	uint64_t v;
};
int tsdb__wal_encode_samples(const struct tsdb__staged *st, size_t n, uint8_t **out, size_t *len, size_t *cap);
void tsdb__wal_close(tsdb *db);
/* Rotates to a new segment under wal_mu. Returns 0 and the new segment number. */
int tsdb__wal_rotate(tsdb *db, uint32_t *new_seg);
void tsdb__wal_remove_before(tsdb *db, uint32_t seg);
/* Lists the numbers N of the files of dir named prefix + exactly 8 decimal digits (WAL segments:
 * prefix ""; snapshots: "snapshot."), sorted ascending, into *out (malloc'ed, owned by the caller;
 * NULL when none). Returns the count, or -1 (dir unreadable, out of memory) with *out NULL. */
long tsdb__list_numbered(const char *dir, const char *prefix, uint32_t **out);
int tsdb__bg_start(tsdb *db);
void tsdb__bg_stop(tsdb *db);

int tsdb__series_insert_loaded(tsdb *db, tsdb__series *s);
tsdb__series *tsdb__series_alloc(size_t nlabels);
void tsdb__series_free(tsdb__series *s);
void tsdb__apply_replayed(tsdb *db, const struct tsdb__staged *st, size_t n);
/* 0, or TSDB_ERR_NOMEM when some samples could not be applied to memory (the others are). */
int tsdb__apply_committed(tsdb *db, const struct tsdb__staged *st, size_t n);
void tsdb__stripe_remove(tsdb *db, uint64_t hash, uint32_t ref);
void tsdb__graves_free(tsdb *db, uint64_t before_epoch);

/* snapshot.c */
int tsdb__snapshot_write(tsdb *db, uint32_t wal_seq, char *err, size_t errlen);
/* Loads the newest snapshot; *wal_seq receives the first WAL segment to replay (0 if none). */
int tsdb__snapshot_load(tsdb *db, uint32_t *wal_seq, char *err, size_t errlen);

#endif
