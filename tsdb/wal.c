/*
 * wal.c — the write-ahead log: segment files DIR/wal/NNNNNNNN, framed CRC32C-checked records,
 * group commit, replay with torn-tail repair, and the background fsync/checkpoint thread.
 * Byte format: docs/format/wal.md.
 *
 * Layout
 *   segment  = "SLODWAL1" (8 bytes) then records, never split across segments. A new segment is
 *              started on open (never appending after a possibly repaired tail), when the current
 *              one would pass 32 MiB, and by a checkpoint.
 *   record   = [u32 LE length L][u32 LE CRC32C of the L bytes][L bytes: u8 type, body]
 *   SERIES(1): repeated { uvarint ref, uvarint nlabels, nlabels x (uvarint len, name, uvarint len,
 *              value) } until the end of the body.
 *   SAMPLES(2): uvarint n, zigzag varint base_t, n x { uvarint ref, zigzag varint t - base_t,
 *              u64 LE value bits }.
 *
 * Invariants
 *   - A SERIES record for a ref precedes (in log order) every SAMPLES record using it: a commit
 *     writes, under wal_mu and in the same write, the SERIES records of every series it uses that
 *     is not yet flagged `logged`, and sets the flag under wal_mu.
 *   - wal_written is the logical byte count handed to write() since open; wal_synced <= wal_written
 *     is the prefix known to be on stable storage. Closed segments are fdatasync'ed at rotation
 *     (unless the policy is NEVER), so syncing the current segment syncs everything before it.
 *   - A failed write is undone with ftruncate to the previous end; if that fails the WAL is marked
 *     broken and every later commit fails with TSDB_ERR_IO (nothing half-written is ever followed
 *     by acknowledged data). A failed fsync also marks it broken: after one, Linux may report
 *     later fsyncs as successful although the pages were lost.
 *
 * Ordering: samples are applied to memory under wal_mu right after their write, so the accept/reject
 *   decisions (out of order, duplicates) made in memory are the ones replay makes again.
 *
 * Durability: commit returns after write() (kill -9 safe: the bytes are in the page cache) and,
 *   with TSDB_FSYNC_ALWAYS, after an fdatasync covering them (power-loss safe). Concurrent
 *   committers elect one leader that fsyncs for all bytes written so far; the others wait on
 *   fsync_cond (group commit).
 *
 * Costs: commit = encoding outside any lock (~12-15 bytes/sample), then under wal_mu one writev and
 *   the in-memory apply (~30-50 ns/sample); the fsync wait happens after wal_mu is released.
 *   Replay reads each segment with one read() and applies ~15 M samples/s per core (measured,
 *   100k series), in windows sorted by series (see REPLAY_WINDOW).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "tsdb/tsdb_int.h"
#include "util/clock.h"

#define WAL_MAGIC "SLODWAL1"
#define WAL_HDR 8
#define REC_HDR 8
#define REC_SERIES 1
#define REC_SAMPLES 2
#define REC_MAX (1u << 30)

/* ---- encoding helpers ---- */

static inline size_t put_uvarint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static inline uint64_t zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t unzz(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static inline void put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void put_u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get_u64le(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8); /* little-endian hosts only (x86-64, arm64) */
	return v;
}

/* Decodes a uvarint from [*p, end); returns false if truncated or overlong. */
static inline bool get_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	const uint8_t *q = *p;
	while (q < end) {
		uint8_t b = *q++;
		if (shift == 63 && b > 1)
			return false;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*p = q;
			*out = v;
			return true;
		}
		shift += 7;
		if (shift > 63)
			return false;
	}
	return false;
}

static int reserve(uint8_t **bp, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 4096;
	while (nc < need)
		nc *= 2;
	uint8_t *nb = realloc(*bp, nc);
	if (!nb)
		return -1;
	*bp = nb;
	*cap = nc;
	return 0;
}

/* Fills the 8-byte record header of the record starting at rec with body length L. */
static void frame(uint8_t *rec, size_t L)
{
	put_u32le(rec, (uint32_t)L);
	put_u32le(rec + 4, tsdb__crc32c(0, rec + REC_HDR, L));
}

int tsdb__wal_encode_samples(const struct tsdb__staged *st, size_t n, uint8_t **out, size_t *len, size_t *cap)
{
	if (reserve(out, cap, *len + REC_HDR + 1 + 20 + n * 23))
		return -1;
	uint8_t *rec = *out + *len, *p = rec + REC_HDR;
	int64_t base = n ? st[0].t : 0;
	*p++ = REC_SAMPLES;
	p += put_uvarint(p, n);
	p += put_uvarint(p, zz(base));
	for (size_t i = 0; i < n; i++) {
		p += put_uvarint(p, st[i].s->ref);
		p += put_uvarint(p, zz((int64_t)((uint64_t)st[i].t - (uint64_t)base)));
		put_u64le(p, st[i].v);
		p += 8;
	}
	size_t L = (size_t)(p - rec) - REC_HDR;
	frame(rec, L);
	*len += REC_HDR + L;
	return 0;
}

/* Appends one SERIES entry for s to the record being built in *buf. */
static int encode_series(const tsdb__series *s, uint8_t **bp, size_t *len, size_t *cap)
{
	size_t need = 20;
	for (size_t i = 0; i < s->ls.n; i++)
		need += 20 + tsdb__istr_of(s->ls.v[i].name)->len + tsdb__istr_of(s->ls.v[i].value)->len;
	if (reserve(bp, cap, *len + need))
		return -1;
	uint8_t *p = *bp + *len;
	p += put_uvarint(p, s->ref);
	p += put_uvarint(p, s->ls.n);
	for (size_t i = 0; i < s->ls.n; i++) {
		const tsdb__istr *a = tsdb__istr_of(s->ls.v[i].name), *b = tsdb__istr_of(s->ls.v[i].value);
		p += put_uvarint(p, a->len);
		memcpy(p, a->s, a->len);
		p += a->len;
		p += put_uvarint(p, b->len);
		memcpy(p, b->s, b->len);
		p += b->len;
	}
	*len = (size_t)(p - *bp);
	return 0;
}

/* ---- segments ---- */

static void seg_path(const tsdb *db, uint32_t seg, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/wal/%08" PRIu32, db->dir, seg);
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

static int write_all(int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		ssize_t w = writev(fd, iov, iovcnt);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		size_t left = (size_t)w;
		while (iovcnt > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

/* Opens a fresh segment seg (caller holds wal_mu or is single-threaded). */
static int seg_create(tsdb *db, uint32_t seg)
{
	char path[4096];
	seg_path(db, seg, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	struct iovec iov = {(void *)WAL_MAGIC, WAL_HDR};
	if (write_all(fd, &iov, 1)) {
		close(fd);
		return -1;
	}
	if (db->wal_fd >= 0) {
		if (db->opt.fsync_policy != TSDB_FSYNC_NEVER)
			fdatasync(db->wal_fd);
		close(db->wal_fd);
	}
	db->wal_fd = fd;
	db->wal_seg = seg;
	db->wal_seg_off = WAL_HDR;
	db->wal_written += WAL_HDR;
	if (db->opt.fsync_policy != TSDB_FSYNC_NEVER) {
		char wdir[4096];
		snprintf(wdir, sizeof(wdir), "%s/wal", db->dir);
		fsync_dir(wdir);
	}
	return 0;
}

int tsdb__wal_rotate(tsdb *db, uint32_t *new_seg)
{
	pthread_mutex_lock(&db->wal_mu);
	int rc = seg_create(db, db->wal_seg + 1) ? TSDB_ERR_IO : 0;
	if (rc == 0)
		db->wal_since_ckpt = 0;
	*new_seg = db->wal_seg;
	pthread_mutex_unlock(&db->wal_mu);
	return rc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

long tsdb__list_numbered(const char *dir, const char *prefix, uint32_t **out)
{
	size_t pl = strlen(prefix), n = 0, cap = 0;
	uint32_t *v = NULL;
	long rc = -1;
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *s = e->d_name;
		if (strncmp(s, prefix, pl) != 0 || strlen(s) != pl + 8 || strspn(s + pl, "0123456789") != 8)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			uint32_t *nv = realloc(v, cap * sizeof(*nv));
			if (!nv)
				goto out;
			v = nv;
		}
		v[n++] = (uint32_t)strtoul(s + pl, NULL, 10);
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_u32);
	*out = v;
	v = NULL;
	rc = (long)n;
out:
	free(v);
	closedir(d);
	return rc;
}

/* Lists segment numbers in DIR/wal, sorted. Returns count or -1. */
static long list_segments(const tsdb *db, uint32_t **out)
{
	char wdir[4096];
	snprintf(wdir, sizeof(wdir), "%s/wal", db->dir);
	return tsdb__list_numbered(wdir, "", out);
}

void tsdb__wal_remove_before(tsdb *db, uint32_t seg)
{
	uint32_t *v;
	long n = list_segments(db, &v);
	for (long i = 0; i < n; i++) {
		if (v[i] >= seg)
			continue;
		char path[4096];
		seg_path(db, v[i], path, sizeof(path));
		unlink(path);
	}
	free(v);
}

/* ---- replay ---- */

/* Samples are applied in windows of this many, stably sorted by series: each series' samples keep
 * their log order (so every accept/reject decision is the one made at commit time), but runs of
 * one series share the cache misses on its struct and chunk buffer. */
#define REPLAY_WINDOW (256u * 1024)
/* Record parsers return 0, -1 (malformed: the log is repaired there) or REPLAY_NOMEM (open fails;
 * the log is left untouched: running out of memory is not corruption). */
#define REPLAY_NOMEM (-2)

typedef struct replay {
	tsdb *db;
	struct tsdb__staged *st, *tmp; /* window and sort scratch */
	uint32_t *key, *tkey;          /* resolved ref of each window entry (sort key) */
	size_t nst, stcap;
	size_t *cnt;                   /* 65536 radix counters */
	char *lbuf; /* label strings with NULs */
	size_t lcap;
	slod_label *lv;
	size_t lvcap;
	uint32_t *alias_k, *alias_v; /* open addressing wal ref -> ref */
	size_t acap, an;
	uint64_t samples, series, unknown, records;
	uint64_t max_ref; /* highest ref named by any record, known or not */
} replay;

static int alias_put(replay *r, uint32_t k, uint32_t v)
{
	if ((r->an + 1) * 2 > r->acap) {
		size_t nc = r->acap ? r->acap * 2 : 64;
		uint32_t *nk = calloc(nc, sizeof(*nk)), *nv = calloc(nc, sizeof(*nv));
		if (!nk || !nv) {
			free(nk);
			free(nv);
			return -1;
		}
		for (size_t i = 0; i < r->acap; i++) {
			if (!r->alias_k[i])
				continue;
			size_t j = (r->alias_k[i] * 2654435761u) & (nc - 1);
			while (nk[j])
				j = (j + 1) & (nc - 1);
			nk[j] = r->alias_k[i];
			nv[j] = r->alias_v[i];
		}
		free(r->alias_k);
		free(r->alias_v);
		r->alias_k = nk;
		r->alias_v = nv;
		r->acap = nc;
	}
	size_t j = (k * 2654435761u) & (r->acap - 1);
	while (r->alias_k[j] && r->alias_k[j] != k)
		j = (j + 1) & (r->acap - 1);
	if (!r->alias_k[j])
		r->an++;
	r->alias_k[j] = k;
	r->alias_v[j] = v;
	return 0;
}

/* The series a log ref names (following aliases); *resolved receives its ref. */
static tsdb__series *replay_series(replay *r, uint64_t ref, uint32_t *resolved)
{
	*resolved = (uint32_t)ref;
	if (r->an) {
		size_t j = ((uint32_t)ref * 2654435761u) & (r->acap - 1);
		while (r->alias_k[j]) {
			if (r->alias_k[j] == ref) {
				*resolved = r->alias_v[j];
				return tsdb__series_get(r->db, r->alias_v[j]);
			}
			j = (j + 1) & (r->acap - 1);
		}
	}
	return tsdb__series_get(r->db, ref);
}

/* Returns 0, or -1 if the record body is malformed. */
static int replay_series_rec(replay *r, const uint8_t *p, const uint8_t *end)
{
	while (p < end) {
		uint64_t ref, nl;
		if (!get_uvarint(&p, end, &ref) || !get_uvarint(&p, end, &nl) || ref == 0 || ref > UINT32_MAX ||
		    nl == 0 || nl > 65535)
			return -1;
		if (nl > r->lvcap) {
			slod_label *nv = realloc(r->lv, nl * sizeof(*nv));
			if (!nv)
				return REPLAY_NOMEM;
			r->lv = nv;
			r->lvcap = nl;
		}
		/* strings: copy with NULs; bound by the remaining record bytes */
		size_t need = (size_t)(end - p) + 2 * nl;
		if (need > r->lcap) {
			char *nb = realloc(r->lbuf, need);
			if (!nb)
				return REPLAY_NOMEM;
			r->lbuf = nb;
			r->lcap = need;
		}
		char *w = r->lbuf;
		for (uint64_t i = 0; i < nl; i++) {
			for (int k = 0; k < 2; k++) {
				uint64_t l;
				if (!get_uvarint(&p, end, &l) || l > (uint64_t)(end - p))
					return -1;
				memcpy(w, p, l);
				w[l] = 0;
				if (k == 0)
					r->lv[i].name = w;
				else
					r->lv[i].value = w;
				w += l + 1;
				p += l;
			}
		}
		if (ref > r->max_ref && ref < (uint64_t)TSDB__MAX_PAGES * TSDB__PAGE_SIZE)
			r->max_ref = ref;
		slod_labels ls = {r->lv, nl};
		tsdb__series *s;
		bool created;
		int rc = tsdb__series_get_or_create(r->db, &ls, labels_hash(&ls), (uint32_t)ref, &s, &created);
		if (rc == TSDB_ERR_NOMEM)
			return REPLAY_NOMEM;
		if (rc) {
			slod_log(&r->db->opt.logger, SLOD_LOG_WARN, "tsdb", "wal replay: cannot create series ref %" PRIu64 ": %d",
				 ref, rc);
			continue;
		}
		atomic_store(&s->logged, 1);
		if (s->ref != ref && alias_put(r, (uint32_t)ref, s->ref))
			return REPLAY_NOMEM;
		r->series++;
	}
	return 0;
}

/* Stable LSD radix sort of the window by resolved series ref, then apply. */
static void replay_flush(replay *r)
{
	size_t n = r->nst;
	if (!n)
		return;
	struct tsdb__staged *a = r->st, *b = r->tmp;
	uint32_t *ka = r->key, *kb = r->tkey;
	if (r->cnt && b && kb) {
		uint32_t maxref = 0;
		for (size_t i = 0; i < n; i++)
			if (ka[i] > maxref)
				maxref = ka[i];
		for (int sh = 0; sh < 32 && (sh == 0 || (maxref >> sh)); sh += 16) {
			memset(r->cnt, 0, 65536 * sizeof(size_t));
			for (size_t i = 0; i < n; i++)
				r->cnt[(ka[i] >> sh) & 0xffff]++;
			size_t sum = 0;
			for (size_t i = 0; i < 65536; i++) {
				size_t c = r->cnt[i];
				r->cnt[i] = sum;
				sum += c;
			}
			for (size_t i = 0; i < n; i++) {
				size_t d = r->cnt[(ka[i] >> sh) & 0xffff]++;
				b[d] = a[i];
				kb[d] = ka[i];
			}
			struct tsdb__staged *t = a;
			a = b;
			b = t;
			uint32_t *tk = ka;
			ka = kb;
			kb = tk;
		}
	}
	tsdb__apply_replayed(r->db, a, n);
	r->nst = 0;
}

static int replay_samples_rec(replay *r, const uint8_t *p, const uint8_t *end)
{
	uint64_t n, zb;
	if (!get_uvarint(&p, end, &n) || !get_uvarint(&p, end, &zb))
		return -1;
	if (n > (uint64_t)(end - p) / 10) /* each sample takes >= 10 bytes */
		return -1;
	if (r->nst + n > REPLAY_WINDOW)
		replay_flush(r);
	if (r->nst + n > r->stcap) {
		size_t nc = r->nst + n > REPLAY_WINDOW ? r->nst + n : REPLAY_WINDOW;
		struct tsdb__staged *ns = realloc(r->st, nc * sizeof(*ns));
		if (!ns)
			return REPLAY_NOMEM;
		r->st = ns;
		uint32_t *nk = realloc(r->key, nc * sizeof(*nk));
		if (!nk)
			return REPLAY_NOMEM;
		r->key = nk;
		r->stcap = nc;
		struct tsdb__staged *nt = realloc(r->tmp, nc * sizeof(*nt));
		uint32_t *ntk = nt ? realloc(r->tkey, nc * sizeof(*ntk)) : NULL;
		if (nt && ntk) {
			r->tmp = nt;
			r->tkey = ntk;
		} else {
			/* no sort scratch: apply windows unsorted (same result, slower) */
			free(nt ? nt : r->tmp);
			r->tmp = NULL;
		}
		if (!r->cnt)
			r->cnt = malloc(65536 * sizeof(size_t));
	}
	int64_t base = unzz(zb);
	size_t k = r->nst;
	tsdb__series *last = NULL;
	uint64_t last_ref = 0;
	uint32_t last_key = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t ref, dt;
		if (!get_uvarint(&p, end, &ref) || !get_uvarint(&p, end, &dt) || end - p < 8)
			return -1;
		if (ref > r->max_ref && ref < (uint64_t)TSDB__MAX_PAGES * TSDB__PAGE_SIZE)
			r->max_ref = ref;
		uint64_t v = get_u64le(p);
		p += 8;
		if (ref != last_ref || !last) {
			last = replay_series(r, ref, &last_key);
			last_ref = ref;
		}
		tsdb__series *s = last;
		if (!s) {
			r->unknown++;
			continue;
		}
		r->key[k] = last_key;
		r->st[k].s = s;
		r->st[k].t = (int64_t)((uint64_t)base + (uint64_t)unzz(dt));
		r->st[k].v = v;
		k++;
	}
	if (p != end)
		return -1; /* the window keeps only samples of earlier, whole records */
	r->samples += k - r->nst;
	r->nst = k;
	return 0;
}

/* Reads the whole file into a malloc'ed buffer (*out, owned by the caller; *len may be less than
 * the size fstat reported if the file shrank meanwhile). Returns 0, or -1 with errno set and
 * nothing allocated: a read error must not look like a short (torn) segment, which replay would
 * "repair" by truncating good records. */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
	int rc = -1, saved = 0;
	uint8_t *b = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0)
		goto out;
	size_t n = (size_t)st.st_size, got = 0;
	b = malloc(n ? n : 1);
	if (!b)
		goto out;
	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*out = b;
	*len = got;
	b = NULL;
	rc = 0;
out:
	saved = errno;
	free(b);
	close(fd);
	errno = saved;
	return rc;
}

/* Replays one segment. Returns the offset of the first bad byte (== len if the whole segment is
 * good), -1 on I/O error or REPLAY_NOMEM. *why describes a bad tail. */
static long replay_segment(replay *r, const char *path, const char **why)
{
	uint8_t *b;
	size_t len;
	*why = NULL;
	if (read_file(path, &b, &len))
		return -1;
	size_t off = 0;
	if (len < WAL_HDR || memcmp(b, WAL_MAGIC, WAL_HDR) != 0) {
		*why = len < WAL_HDR ? "short segment header" : "bad segment magic";
		free(b);
		return 0;
	}
	off = WAL_HDR;
	while (off < len) {
		if (len - off < REC_HDR) {
			*why = "torn record header";
			break;
		}
		uint32_t L = get_u32le(b + off), crc = get_u32le(b + off + 4);
		if (L == 0 || L > REC_MAX || L > len - off - REC_HDR) {
			*why = L > len - off - REC_HDR ? "torn record" : "bad record length";
			break;
		}
		const uint8_t *body = b + off + REC_HDR;
		if (tsdb__crc32c(0, body, L) != crc) {
			*why = "record checksum mismatch";
			break;
		}
		int rc = 0;
		if (body[0] == REC_SERIES)
			rc = replay_series_rec(r, body + 1, body + L);
		else if (body[0] == REC_SAMPLES)
			rc = replay_samples_rec(r, body + 1, body + L);
		else
			rc = -1;
		if (rc == REPLAY_NOMEM) {
			free(b);
			return REPLAY_NOMEM;
		}
		if (rc) {
			*why = "malformed record";
			break;
		}
		r->records++;
		off += REC_HDR + L;
	}
	replay_flush(r);
	free(b);
	return (long)off;
}

int tsdb__wal_open(tsdb *db, uint32_t first_seg, char *err, size_t errlen)
{
	char wdir[4096];
	int rc = 0;
	uint32_t *segs = NULL;
	replay r = {.db = db};
	snprintf(wdir, sizeof(wdir), "%s/wal", db->dir);
	if (mkdir(wdir, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", wdir, strerror(errno));
		return TSDB_ERR_IO;
	}
	long n = list_segments(db, &segs);
	if (n < 0) {
		snprintf(err, errlen, "cannot list %s: %s", wdir, strerror(errno));
		return TSDB_ERR_IO;
	}
	int64_t t0 = slod_monotonic_ms();
	uint32_t next = first_seg;
	bool stop = false;
	for (long i = 0; i < n; i++) {
		char path[4096];
		seg_path(db, segs[i], path, sizeof(path));
		if (segs[i] < first_seg || stop) {
			if (stop)
				slod_log(&db->opt.logger, SLOD_LOG_WARN, "tsdb",
					 "wal: removing segment %08" PRIu32 " after a corrupt one", segs[i]);
			unlink(path);
			continue;
		}
		const char *why;
		uint64_t before = r.samples;
		long good = replay_segment(&r, path, &why);
		if (good == REPLAY_NOMEM) {
			snprintf(err, errlen, "out of memory replaying %s", path);
			rc = TSDB_ERR_NOMEM;
			goto out;
		}
		if (good < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			rc = TSDB_ERR_IO;
			goto out;
		}
		if (why) {
			slod_log(&db->opt.logger, SLOD_LOG_WARN, "tsdb",
				 "wal: %s in segment %08" PRIu32 " at offset %ld: truncating there", why, segs[i], good);
			if (truncate(path, good) != 0) {
				snprintf(err, errlen, "cannot truncate %s: %s", path, strerror(errno));
				rc = TSDB_ERR_IO;
				goto out;
			}
			stop = true;
		}
		slod_log(&db->opt.logger, SLOD_LOG_INFO, "tsdb", "wal: replayed segment %08" PRIu32 " (%" PRIu64 " samples)",
			 segs[i], r.samples - before);
		next = segs[i] + 1;
	}
	/* never reuse a ref the log mentions, even one whose series record was lost */
	pthread_rwlock_wrlock(&db->idx_lock);
	if (r.max_ref < UINT32_MAX && r.max_ref + 1 > db->next_ref)
		db->next_ref = (uint32_t)r.max_ref + 1;
	pthread_rwlock_unlock(&db->idx_lock);
	if (r.unknown)
		slod_log(&db->opt.logger, SLOD_LOG_WARN, "tsdb", "wal: dropped %" PRIu64 " samples of unknown series", r.unknown);
	slod_log(&db->opt.logger, SLOD_LOG_INFO, "tsdb",
		 "wal: replay done: %" PRIu64 " records, %" PRIu64 " series, %" PRIu64 " samples in %" PRId64 " ms",
		 r.records, r.series, r.samples, slod_monotonic_ms() - t0);
	pthread_mutex_lock(&db->wal_mu);
	if (seg_create(db, next)) {
		pthread_mutex_unlock(&db->wal_mu);
		snprintf(err, errlen, "cannot create wal segment %08" PRIu32 ": %s", next, strerror(errno));
		rc = TSDB_ERR_IO;
		goto out;
	}
	db->wal_synced = db->wal_written;
	pthread_mutex_unlock(&db->wal_mu);
out:
	free(segs);
	free(r.st);
	free(r.tmp);
	free(r.key);
	free(r.tkey);
	free(r.cnt);
	free(r.lbuf);
	free(r.lv);
	free(r.alias_k);
	free(r.alias_v);
	return rc;
}

/* ---- commit and group fsync ---- */

static int sync_upto(tsdb *db, uint64_t target)
{
	int rc = 0;
	pthread_mutex_lock(&db->fsync_mu);
	while (db->wal_synced < target) {
		if (db->fsyncing) {
			pthread_cond_wait(&db->fsync_cond, &db->fsync_mu);
			continue;
		}
		db->fsyncing = true;
		pthread_mutex_unlock(&db->fsync_mu);
		pthread_mutex_lock(&db->wal_mu);
		int fd = db->wal_fd >= 0 ? dup(db->wal_fd) : -1;
		uint64_t upto = db->wal_written;
		pthread_mutex_unlock(&db->wal_mu);
		int64_t t0 = 0;
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		int r = fd >= 0 ? fdatasync(fd) : -1;
		clock_gettime(CLOCK_MONOTONIC, &b);
		t0 = (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
		if (fd >= 0)
			close(fd);
		atomic_fetch_add(&db->st_fsyncs, 1);
		atomic_fetch_add(&db->st_fsync_ns, (uint64_t)t0);
		pthread_mutex_lock(&db->fsync_mu);
		db->fsyncing = false;
		if (r == 0 && upto > db->wal_synced)
			db->wal_synced = upto;
		pthread_cond_broadcast(&db->fsync_cond);
		if (r != 0) {
			/* After a failed fsync the kernel may have dropped the dirty pages and a later fsync
			 * can succeed without them: stop acknowledging writes instead ("fsyncgate"). */
			pthread_mutex_unlock(&db->fsync_mu);
			pthread_mutex_lock(&db->wal_mu);
			if (!db->wal_broken)
				slod_log(&db->opt.logger, SLOD_LOG_ERROR, "tsdb", "wal: fsync failed: %s; WAL disabled",
					 strerror(errno));
			db->wal_broken = true;
			pthread_mutex_unlock(&db->wal_mu);
			pthread_mutex_lock(&db->fsync_mu);
			rc = TSDB_ERR_IO;
			break;
		}
	}
	pthread_mutex_unlock(&db->fsync_mu);
	return rc;
}

int tsdb__wal_commit(tsdb *db, tsdb__series **new_series, size_t n_new, const uint8_t *body, size_t blen,
		     const struct tsdb__staged *st, size_t n, bool wait_sync)
{
	int rc = 0, apply_rc = 0;
	size_t slen = 0;
	uint64_t my_end;
	pthread_mutex_lock(&db->wal_mu);
	if (db->wal_broken || db->wal_fd < 0) {
		pthread_mutex_unlock(&db->wal_mu);
		return TSDB_ERR_IO;
	}
	size_t nlogged = 0;
	for (size_t i = 0; i < n_new; i++) {
		tsdb__series *s = new_series[i];
		if (atomic_load_explicit(&s->logged, memory_order_relaxed))
			continue;
		if (slen == 0) {
			if (reserve(&db->wal_sbuf, &db->wal_scap, REC_HDR + 1)) {
				rc = TSDB_ERR_NOMEM;
				goto unlock;
			}
			slen = REC_HDR;
			db->wal_sbuf[slen++] = REC_SERIES;
		}
		if (encode_series(s, &db->wal_sbuf, &slen, &db->wal_scap)) {
			rc = TSDB_ERR_NOMEM;
			goto unlock;
		}
		atomic_store_explicit(&s->logged, 1, memory_order_relaxed);
		new_series[nlogged++] = s; /* reuse the array to remember what we flagged */
	}
	if (slen)
		frame(db->wal_sbuf, slen - REC_HDR);
	size_t total = slen + blen;
	if (db->wal_seg_off > WAL_HDR && db->wal_seg_off + total > TSDB__WAL_SEGMENT_BYTES) {
		if (seg_create(db, db->wal_seg + 1)) {
			rc = TSDB_ERR_IO;
			goto unlock;
		}
	}
	struct iovec iov[2];
	int nio = 0;
	if (slen)
		iov[nio++] = (struct iovec){db->wal_sbuf, slen};
	iov[nio++] = (struct iovec){(void *)body, blen};
	if (write_all(db->wal_fd, iov, nio)) {
		slod_log(&db->opt.logger, SLOD_LOG_ERROR, "tsdb", "wal: write failed: %s", strerror(errno));
		if (ftruncate(db->wal_fd, (off_t)db->wal_seg_off) != 0 ||
		    lseek(db->wal_fd, (off_t)db->wal_seg_off, SEEK_SET) < 0) {
			slod_log(&db->opt.logger, SLOD_LOG_ERROR, "tsdb", "wal: cannot undo a failed write; WAL disabled");
			db->wal_broken = true;
		}
		rc = TSDB_ERR_IO;
		goto unlock;
	}
	db->wal_seg_off += total;
	db->wal_written += total;
	db->wal_since_ckpt += total;
	atomic_fetch_add_explicit(&db->st_wal_bytes, total, memory_order_relaxed);
	/* apply in log order, so that replay reproduces memory exactly; samples that found no memory
	 * are logged but not in memory: the commit reports TSDB_ERR_NOMEM so the sender retries */
	apply_rc = tsdb__apply_committed(db, st, n);
unlock:
	if (rc)
		for (size_t i = 0; i < nlogged; i++)
			atomic_store_explicit(&new_series[i]->logged, 0, memory_order_relaxed);
	my_end = db->wal_written;
	bool want_ckpt = db->wal_since_ckpt > db->opt.checkpoint_wal_bytes;
	pthread_mutex_unlock(&db->wal_mu);
	if (rc)
		return rc;
	if (wait_sync && db->opt.fsync_policy == TSDB_FSYNC_ALWAYS && sync_upto(db, my_end))
		return TSDB_ERR_IO;
	if (want_ckpt && db->bg_running) {
		pthread_mutex_lock(&db->bg_mu);
		if (!db->bg_ckpt_wanted) {
			db->bg_ckpt_wanted = true;
			pthread_cond_signal(&db->bg_cond);
		}
		pthread_mutex_unlock(&db->bg_mu);
	}
	return apply_rc;
}

void tsdb__wal_close(tsdb *db)
{
	pthread_mutex_lock(&db->wal_mu);
	if (db->wal_fd >= 0) {
		if (db->opt.fsync_policy != TSDB_FSYNC_NEVER)
			fdatasync(db->wal_fd);
		close(db->wal_fd);
		db->wal_fd = -1;
	}
	free(db->wal_sbuf);
	db->wal_sbuf = NULL;
	db->wal_scap = 0;
	pthread_mutex_unlock(&db->wal_mu);
}

/* ---- background thread: interval fsync and automatic checkpoints ---- */

static void *bg_main(void *arg)
{
	tsdb *db = arg;
	pthread_mutex_lock(&db->bg_mu);
	while (!db->bg_stop) {
		int64_t ms = db->opt.fsync_policy == TSDB_FSYNC_INTERVAL ? db->opt.fsync_interval_ms : 1000;
		struct timespec ts = slod_deadline_in_ms(CLOCK_REALTIME, ms);
		if (!db->bg_ckpt_wanted)
			pthread_cond_timedwait(&db->bg_cond, &db->bg_mu, &ts);
		if (db->bg_stop)
			break;
		bool ck = db->bg_ckpt_wanted;
		db->bg_ckpt_wanted = false;
		pthread_mutex_unlock(&db->bg_mu);
		if (db->opt.fsync_policy == TSDB_FSYNC_INTERVAL) {
			pthread_mutex_lock(&db->wal_mu);
			uint64_t w = db->wal_written;
			pthread_mutex_unlock(&db->wal_mu);
			if (sync_upto(db, w))
				slod_log(&db->opt.logger, SLOD_LOG_ERROR, "tsdb", "wal: interval fsync failed");
		}
		if (ck) {
			char err[256];
			if (tsdb_checkpoint(db, err, sizeof(err)))
				slod_log(&db->opt.logger, SLOD_LOG_ERROR, "tsdb", "automatic checkpoint failed: %s", err);
		}
		pthread_mutex_lock(&db->bg_mu);
	}
	pthread_mutex_unlock(&db->bg_mu);
	return NULL;
}

int tsdb__bg_start(tsdb *db)
{
	db->bg_stop = false;
	if (pthread_create(&db->bg, NULL, bg_main, db))
		return TSDB_ERR_NOMEM;
	db->bg_running = true;
	return 0;
}

void tsdb__bg_stop(tsdb *db)
{
	if (!db->bg_running)
		return;
	pthread_mutex_lock(&db->bg_mu);
	db->bg_stop = true;
	pthread_cond_signal(&db->bg_cond);
	pthread_mutex_unlock(&db->bg_mu);
	pthread_join(db->bg, NULL);
	db->bg_running = false;
}
