/*
 * snapshot.c — checkpoints: the whole in-memory state written to DIR/snapshot.NNNNNNNN, so that
 * WAL segments before NNNNNNNN can be deleted; and loading the newest snapshot at open.
 * Byte format: docs/format/snapshot.md.
 *
 * Layout (all integers little-endian)
 *   "SLODSNP1" | u32 version=1 | u32 wal_seq | u32 next_ref | u64 nstrings
 *   nstrings x { u32 len, bytes }                       string table (each distinct label string once)
 *   series*: { u8 1, u32 ref, u32 nlabels, u64 hash, nlabels x { u32 name_idx, u32 value_idx },
 *              i64 min_t, i64 max_t, u64 last_v, u32 nchunks,
 *              nchunks x { i64 mint, i64 maxt, u32 len, u32 count, len bytes },
 *              u8 has_open [ i64 head_mint, u32 len, u64 nbits, u32 count, i64 t, i64 t_delta,
 *                            u64 v_bits, u8 leading, u8 trailing, len bytes ],
 *              u32 nooo, nooo x { i64 t, u64 v } }
 *   u8 0 (end of series) | u32 CRC32C of every preceding byte
 *
 * Consistency: commits write and apply under wal_mu; tsdb_checkpoint() rotates the WAL to segment N
 * under wal_mu (so every commit of segments < N is already applied), and writes a snapshot of
 * the memory state tagged wal_seq = N. Everything in segments < N is in memory at that point, so in
 * the snapshot; samples of segment >= N that also made it into the snapshot are dropped as
 * duplicates on replay. The file is written as snapshot.N.tmp, fsynced, renamed and the directory
 * fsynced before any WAL segment or older snapshot is deleted.
 *
 * Loading reads the file with one read(), checks the CRC, interns the string table once, and
 * builds each series with its labels from table indexes and its chunks copied as encoded bytes
 * (the open chunk's appender state is stored, so nothing is decoded). Cost ~ one memcpy of the
 * chunk bytes plus one hash-map and postings insert per series.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsdb/tsdb_int.h"
#include "util/clock.h"

#define SNAP_MAGIC "SLODSNP1"
#define SNAP_VERSION 1

/* ---- buffered writer with running CRC ---- */

typedef struct wr {
	int fd;
	uint8_t *b;
	size_t len, cap;
	uint32_t crc;
	bool err;
} wr;

static int wr_flush(wr *w)
{
	if (w->err)
		return -1;
	w->crc = tsdb__crc32c(w->crc, w->b, w->len);
	size_t off = 0;
	while (off < w->len) {
		ssize_t n = write(w->fd, w->b + off, w->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->err = true;
			return -1;
		}
		off += (size_t)n;
	}
	w->len = 0;
	return 0;
}

/* Ensures room for n more bytes (flushing or growing). */
static int wr_room(wr *w, size_t n)
{
	if (w->len + n <= w->cap)
		return 0;
	if (wr_flush(w))
		return -1;
	if (n > w->cap) {
		uint8_t *nb = realloc(w->b, n);
		if (!nb) {
			w->err = true;
			return -1;
		}
		w->b = nb;
		w->cap = n;
	}
	return 0;
}

static inline void put(wr *w, const void *p, size_t n)
{
	memcpy(w->b + w->len, p, n);
	w->len += n;
}
static inline void put8(wr *w, uint8_t v) { put(w, &v, 1); }
static inline void put32(wr *w, uint32_t v) { put(w, &v, 4); }
static inline void put64(wr *w, uint64_t v) { put(w, &v, 8); }

static size_t series_size(const tsdb__series *s)
{
	size_t n = 1 + 4 + 4 + 8 + s->ls.n * 8 + 24 + 4;
	for (uint32_t i = 0; i < s->nchunks; i++)
		n += 24 + s->chunks[i].len;
	n += 1;
	if (s->app.data)
		n += 8 + 4 + 8 + 4 + 8 + 8 + 8 + 2 + tsdb__chunk_app_len(&s->app);
	n += 4 + (s->ooo ? s->ooo->n * 16 : 0);
	return n;
}

/* Writes one series (takes its lock; never flushes while holding it). */
static int write_series(wr *w, tsdb__series *s)
{
	for (;;) {
		tsdb__series_lock(s);
		size_t need = series_size(s);
		if (w->len + need > w->cap) {
			tsdb__series_unlock(s);
			if (wr_room(w, need))
				return -1;
			continue;
		}
		put8(w, 1);
		put32(w, s->ref);
		put32(w, (uint32_t)s->ls.n);
		put64(w, s->hash);
		for (size_t i = 0; i < s->ls.n; i++) {
			put32(w, tsdb__istr_of(s->ls.v[i].name)->snap_idx);
			put32(w, tsdb__istr_of(s->ls.v[i].value)->snap_idx);
		}
		put64(w, (uint64_t)s->min_t);
		put64(w, (uint64_t)s->max_t);
		put64(w, s->last_v);
		put32(w, s->nchunks);
		for (uint32_t i = 0; i < s->nchunks; i++) {
			const tsdb__chunk_meta *m = &s->chunks[i];
			put64(w, (uint64_t)m->mint);
			put64(w, (uint64_t)m->maxt);
			put32(w, m->len);
			put32(w, m->count);
			put(w, m->data, m->len);
		}
		put8(w, s->app.data ? 1 : 0);
		if (s->app.data) {
			uint32_t len = (uint32_t)tsdb__chunk_app_len(&s->app);
			put64(w, (uint64_t)s->head_mint);
			put32(w, len);
			put64(w, s->app.nbits);
			put32(w, s->app.count);
			put64(w, (uint64_t)s->app.t);
			put64(w, (uint64_t)s->app.t_delta);
			put64(w, s->app.v_bits);
			put8(w, s->app.leading);
			put8(w, s->app.trailing);
			put(w, s->app.data, len);
		}
		uint32_t no = s->ooo ? s->ooo->n : 0;
		put32(w, no);
		for (uint32_t i = 0; i < no; i++) {
			put64(w, (uint64_t)s->ooo->s[i].t);
			put64(w, s->ooo->s[i].v);
		}
		tsdb__series_unlock(s);
		return 0;
	}
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Lists snapshot sequence numbers in dir (sorted ascending). */
static long list_snapshots(const char *dir, uint32_t **out)
{
	return tsdb__list_numbered(dir, "snapshot.", out);
}

int tsdb__snapshot_write(tsdb *db, uint32_t wal_seq, char *err, size_t errlen)
{
	char tmp[4096], path[4096];
	int rc = TSDB_ERR_IO;
	int64_t t0 = slod_monotonic_ms();
	snprintf(tmp, sizeof(tmp), "%s/snapshot.%08" PRIu32 ".tmp", db->dir, wal_seq);
	snprintf(path, sizeof(path), "%s/snapshot.%08" PRIu32, db->dir, wal_seq);
	wr w = {.fd = -1, .cap = 1 << 20};
	w.b = malloc(w.cap);
	if (!w.b) {
		snprintf(err, errlen, "snapshot: out of memory");
		return TSDB_ERR_NOMEM;
	}
	w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w.fd < 0) {
		snprintf(err, errlen, "snapshot: create %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* header and string table under the index read lock; remember the ref horizon */
	pthread_rwlock_rdlock(&db->idx_lock);
	uint32_t max_ref = db->next_ref;
	uint64_t nstr = db->istr_n;
	put(&w, SNAP_MAGIC, 8);
	put32(&w, SNAP_VERSION);
	put32(&w, wal_seq);
	put32(&w, max_ref);
	put64(&w, nstr);
	uint32_t idx = 0;
	for (uint32_t i = 0; i < db->istr_cap && !w.err; i++) {
		tsdb__istr *e = db->istr[i];
		if (!e)
			continue;
		if (wr_room(&w, 4 + (size_t)e->len))
			break;
		e->snap_idx = idx++;
		put32(&w, e->len);
		put(&w, e->s, e->len);
	}
	pthread_rwlock_unlock(&db->idx_lock);
	if (w.err || idx != nstr) {
		snprintf(err, errlen, "snapshot: write %s: %s", tmp, strerror(errno));
		goto out;
	}
	uint64_t nseries = 0;
	for (uint32_t ref = 1; ref < max_ref && !w.err; ref++) {
		tsdb__series *s = tsdb__series_get(db, ref);
		if (!s)
			continue;
		if (write_series(&w, s))
			break;
		nseries++;
	}
	if (!w.err && wr_room(&w, 1) == 0)
		put8(&w, 0);
	if (w.err || wr_flush(&w)) {
		snprintf(err, errlen, "snapshot: write %s: %s", tmp, strerror(errno));
		goto out;
	}
	uint8_t crc[4];
	memcpy(crc, &w.crc, 4);
	if (write(w.fd, crc, 4) != 4 || fsync(w.fd) != 0) {
		snprintf(err, errlen, "snapshot: write %s: %s", tmp, strerror(errno));
		goto out;
	}
	close(w.fd);
	w.fd = -1;
	if (rename(tmp, path) != 0 || fsync_path(db->dir) != 0) {
		snprintf(err, errlen, "snapshot: rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* older snapshots are now redundant */
	uint32_t *v;
	long n = list_snapshots(db->dir, &v);
	for (long i = 0; i < n; i++) {
		if (v[i] < wal_seq) {
			char old[4096];
			snprintf(old, sizeof(old), "%s/snapshot.%08" PRIu32, db->dir, v[i]);
			unlink(old);
		}
	}
	free(v);
	slod_log(&db->opt.logger, SLOD_LOG_INFO, "tsdb",
		 "snapshot %08" PRIu32 " written: %" PRIu64 " series, %" PRIu64 " strings in %" PRId64 " ms", wal_seq,
		 nseries, nstr, slod_monotonic_ms() - t0);
	rc = 0;
out:
	if (w.fd >= 0) {
		close(w.fd);
		unlink(tmp);
	}
	free(w.b);
	return rc;
}

/* ---- loading ---- */

typedef struct rd {
	const uint8_t *p, *end;
	bool err;
} rd;

static inline bool need(rd *r, size_t n)
{
	if (r->err || (size_t)(r->end - r->p) < n) {
		r->err = true;
		return false;
	}
	return true;
}
static inline uint8_t get8(rd *r)
{
	if (!need(r, 1))
		return 0;
	return *r->p++;
}
static inline uint32_t get32(rd *r)
{
	uint32_t v = 0;
	if (need(r, 4)) {
		memcpy(&v, r->p, 4);
		r->p += 4;
	}
	return v;
}
static inline uint64_t get64(rd *r)
{
	uint64_t v = 0;
	if (need(r, 8)) {
		memcpy(&v, r->p, 8);
		r->p += 8;
	}
	return v;
}

/* Parses and installs one series; returns 0 or -1 (corrupt / OOM). */
static int load_series(tsdb *db, rd *r, const char **strs, uint64_t nstr)
{
	uint32_t ref = get32(r), nl = get32(r);
	uint64_t hash = get64(r);
	if (r->err || nl == 0 || nl > 65535 || ref == 0)
		return -1;
	tsdb__series *s = tsdb__series_alloc(nl);
	int fail = -1;
	if (!s)
		return -2;
	s->ref = ref;
	s->hash = hash;
	for (uint32_t i = 0; i < nl; i++) {
		uint32_t a = get32(r), b = get32(r);
		if (r->err || a >= nstr || b >= nstr) {
			free(s);
			return -1;
		}
		s->ls.v[i].name = strs[a];
		s->ls.v[i].value = strs[b];
	}
	s->min_t = (int64_t)get64(r);
	s->max_t = (int64_t)get64(r);
	s->last_v = get64(r);
	uint32_t nc = get32(r);
	if (r->err || nc > (size_t)(r->end - r->p) / 24)
		goto bad;
	if (nc) {
		s->chunks = malloc(nc * sizeof(*s->chunks));
		if (!s->chunks)
			goto nomem;
		s->capchunks = nc;
	}
	uint64_t bytes = 0, samples = 0;
	for (uint32_t i = 0; i < nc; i++) {
		tsdb__chunk_meta *m = &s->chunks[i];
		m->mint = (int64_t)get64(r);
		m->maxt = (int64_t)get64(r);
		m->len = get32(r);
		m->count = get32(r);
		if (!need(r, m->len) || m->len < 2)
			goto bad;
		m->data = malloc(m->len);
		if (!m->data)
			goto nomem;
		memcpy(m->data, r->p, m->len);
		r->p += m->len;
		s->nchunks++;
		bytes += m->len;
		samples += m->count;
	}
	if (get8(r)) {
		s->head_mint = (int64_t)get64(r);
		uint32_t len = get32(r);
		uint64_t nbits = get64(r);
		uint32_t count = get32(r);
		int64_t t = (int64_t)get64(r), td = (int64_t)get64(r);
		uint64_t vb = get64(r);
		uint8_t lead = get8(r), trail = get8(r);
		if (!need(r, len) || len < 2 || (nbits + 7) / 8 != len || count > TSDB_CHUNK_MAX_SAMPLES ||
		    tsdb__chunk_count(r->p, len) != count ||
		    !(lead == 0xff || (lead < 64 && trail < 64 && lead + trail < 64)))
			goto bad;
		size_t cap = len + 16;
		uint8_t *d = malloc(cap);
		if (!d)
			goto nomem;
		memcpy(d, r->p, len);
		r->p += len;
		s->app.data = d;
		s->app.cap = cap;
		s->app.nbits = nbits;
		s->app.count = (uint16_t)count;
		s->app.t = t;
		s->app.t_delta = td;
		s->app.v_bits = vb;
		s->app.leading = lead;
		s->app.trailing = trail;
		bytes += len;
		samples += count;
		nc++;
	}
	uint32_t no = get32(r);
	if (r->err || no > (size_t)(r->end - r->p) / 16)
		goto bad;
	if (no) {
		s->ooo = malloc(sizeof(*s->ooo) + no * sizeof(s->ooo->s[0]));
		if (!s->ooo)
			goto nomem;
		s->ooo->n = s->ooo->cap = no;
		for (uint32_t i = 0; i < no; i++) {
			s->ooo->s[i].t = (int64_t)get64(r);
			s->ooo->s[i].v = get64(r);
		}
	}
	if (r->err)
		goto bad;
	atomic_store(&s->logged, 1);
	for (uint32_t i = 0; i < nl; i++) {
		tsdb__istr_of(s->ls.v[i].name)->refs++;
		tsdb__istr_of(s->ls.v[i].value)->refs++;
	}
	int irc = tsdb__series_insert_loaded(db, s);
	if (irc) {
		for (uint32_t i = 0; i < nl; i++) {
			tsdb__istr_of(s->ls.v[i].name)->refs--;
			tsdb__istr_of(s->ls.v[i].value)->refs--;
		}
		if (irc == TSDB_ERR_NOMEM)
			goto nomem;
		goto bad;
	}
	atomic_fetch_add(&db->st_chunks, nc);
	atomic_fetch_add(&db->st_chunk_bytes, bytes);
	atomic_fetch_add(&db->st_chunk_samples, samples);
	if (s->max_t != INT64_MIN) {
		if (s->min_t < atomic_load(&db->st_min_t))
			atomic_store(&db->st_min_t, s->min_t);
		if (s->max_t > atomic_load(&db->st_max_t))
			atomic_store(&db->st_max_t, s->max_t);
	}
	return 0;
nomem:
	fail = -2;
bad:
	tsdb__series_free(s);
	return fail;
}

/* Loads one snapshot file. Returns 0, or -1 with a message in err (memory may hold a partial
 * load: the caller then gives up on opening). */
static int load_file(tsdb *db, const char *path, uint32_t *wal_seq, char *err, size_t errlen, bool *corrupt)
{
	int rc = -1;
	uint8_t *b = NULL;
	const char **strs = NULL;
	uint64_t nstr = 0, loaded = 0;
	*corrupt = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "snapshot: open %s: %s", path, strerror(errno));
		goto out;
	}
	size_t len = (size_t)st.st_size, got = 0;
	b = malloc(len ? len : 1);
	if (!b) {
		snprintf(err, errlen, "snapshot: out of memory");
		goto out;
	}
	while (got < len) {
		ssize_t n = read(fd, b + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != len || len < 8 + 4 + 4 + 4 + 8 + 1 + 4) {
		snprintf(err, errlen, "snapshot: %s: short file", path);
		*corrupt = true;
		goto out;
	}
	uint32_t crc;
	memcpy(&crc, b + len - 4, 4);
	if (memcmp(b, SNAP_MAGIC, 8) != 0 || tsdb__crc32c(0, b, len - 4) != crc) {
		snprintf(err, errlen, "snapshot: %s: bad magic or checksum", path);
		*corrupt = true;
		goto out;
	}
	rd r = {b + 8, b + len - 4, false};
	uint32_t ver = get32(&r);
	*wal_seq = get32(&r);
	uint32_t next_ref = get32(&r);
	nstr = get64(&r);
	if (ver != SNAP_VERSION || nstr > (uint64_t)(r.end - r.p) / 4) {
		snprintf(err, errlen, "snapshot: %s: unsupported version %" PRIu32, path, ver);
		*corrupt = true;
		goto out;
	}
	strs = calloc(nstr ? nstr : 1, sizeof(*strs));
	if (!strs) {
		snprintf(err, errlen, "snapshot: out of memory");
		goto out;
	}
	pthread_rwlock_wrlock(&db->idx_lock);
	for (uint64_t i = 0; i < nstr; i++) {
		uint32_t l = get32(&r);
		if (!need(&r, l))
			break;
		strs[i] = tsdb__intern(db, (const char *)r.p, l, tsdb__str_hash((const char *)r.p, l));
		r.p += l;
		if (!strs[i]) {
			r.err = true;
			break;
		}
		loaded++;
	}
	pthread_rwlock_unlock(&db->idx_lock);
	if (r.err) {
		snprintf(err, errlen, "snapshot: %s: corrupt string table", path);
		*corrupt = true;
		goto out;
	}
	uint64_t nseries = 0;
	while (get8(&r) == 1) {
		int lr = load_series(db, &r, strs, nstr);
		if (lr == -2) {
			snprintf(err, errlen, "snapshot: %s: out of memory", path);
			goto out;
		}
		if (lr) {
			snprintf(err, errlen, "snapshot: %s: corrupt series #%" PRIu64, path, nseries);
			*corrupt = true;
			goto out;
		}
		nseries++;
	}
	if (r.err || r.p != r.end) {
		snprintf(err, errlen, "snapshot: %s: trailing garbage", path);
		*corrupt = true;
		goto out;
	}
	/* refs of series removed before the snapshot are never handed out again */
	if (next_ref > db->next_ref && (uint64_t)next_ref < (uint64_t)TSDB__MAX_PAGES * TSDB__PAGE_SIZE)
		db->next_ref = next_ref;
	rc = 0;
out:
	if (strs) {
		/* drop the table's own reference on each string */
		pthread_rwlock_wrlock(&db->idx_lock);
		for (uint64_t i = 0; i < loaded; i++)
			tsdb__intern_unref(db, strs[i], NULL, 0);
		pthread_rwlock_unlock(&db->idx_lock);
	}
	if (fd >= 0)
		close(fd);
	free(strs);
	free(b);
	return rc;
}

int tsdb__snapshot_load(tsdb *db, uint32_t *wal_seq, char *err, size_t errlen)
{
	uint32_t *v;
	*wal_seq = 0;
	long n = list_snapshots(db->dir, &v);
	if (n < 0) {
		snprintf(err, errlen, "snapshot: cannot list %s: %s", db->dir, strerror(errno));
		return TSDB_ERR_IO;
	}
	int rc = 0;
	for (long i = n - 1; i >= 0; i--) {
		char path[4096];
		bool corrupt;
		int64_t t0 = slod_monotonic_ms();
		snprintf(path, sizeof(path), "%s/snapshot.%08" PRIu32, db->dir, v[i]);
		if (load_file(db, path, wal_seq, err, errlen, &corrupt) == 0) {
			slod_log(&db->opt.logger, SLOD_LOG_INFO, "tsdb", "loaded %s: %" PRIu64 " series in %" PRId64 " ms",
				 path, db->nseries, slod_monotonic_ms() - t0);
			break;
		}
		*wal_seq = 0;
		if (!corrupt || db->nseries) {
			/* out of memory, or corruption found after series were installed: a partial state
			 * cannot be undone cheaply, so refuse to open rather than silently lose data */
			rc = corrupt ? TSDB_ERR_IO : TSDB_ERR_NOMEM;
			break;
		}
		/* whole-file checksum failed before anything was installed: try an older snapshot */
		slod_log(&db->opt.logger, SLOD_LOG_ERROR, "tsdb", "%s; ignoring it", err);
	}
	free(v);
	return rc;
}

int tsdb_checkpoint(tsdb *db, char *err, size_t errlen)
{
	if (!db->dir)
		return 0; /* memory only: nothing to checkpoint */
	pthread_mutex_lock(&db->maint_mu);
	uint32_t seg;
	int rc = tsdb__wal_rotate(db, &seg);
	if (rc) {
		snprintf(err, errlen, "checkpoint: cannot rotate the WAL: %s", strerror(errno));
	} else if ((rc = tsdb__snapshot_write(db, seg, err, errlen)) == 0) {
		tsdb__wal_remove_before(db, seg);
	}
	pthread_mutex_unlock(&db->maint_mu);
	return rc;
}
