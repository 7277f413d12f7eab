/*
 * index.c — interned label strings and the inverted index (label name -> value -> postings).
 *
 * Data layout (everything here is guarded by db->idx_lock: write-held to add or remove series,
 * read-held by queries):
 *
 *   intern table   open addressing, linear probing, backward-shift deletion, of tsdb__istr *
 *                  (one malloc per distinct string: 24-byte header + bytes + NUL). Every label
 *                  pointer stored in a series points at some istr->s, so two interned strings are
 *                  equal iff their pointers are equal. istr->refs counts (series, label) uses; a
 *                  string is unlinked when it drops to 0 and freed after the reclamation epoch.
 *   names          open addressing of tsdb__name_ent keyed by the interned name pointer (probing
 *                  starts at the string's stored XXH3 hash). Each name holds an open-addressed table
 *                  of tsdb__value_ent keyed the same way; each value holds its postings.
 *   postings       sorted unique uint32 refs. Series refs are handed out in increasing order under
 *                  the write lock that also appends to the postings, so adds are appends; replay may
 *                  insert out of order and pays a memmove.
 *   all            postings of every live series.
 *
 * Invariants: no value entry has an empty postings list; no name entry has zero values; every
 * string referenced from a name/value entry is also referenced by a live series (so it is alive).
 *
 * Costs: intern O(len) hash + O(1) probe. index_add/remove O(labels) + memmove on remove.
 * Selection: an EQ matcher is one table probe; a regex matcher runs the callback once per distinct
 * value of its name; sets are intersected by merge (galloping when sizes differ 16x) and unions of
 * value lists (disjoint by construction) are concatenated and radix sorted. Once the candidate set
 * is small, remaining matchers are checked against each candidate's labels directly.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "tsdb/tsdb_int.h"

uint64_t tsdb__str_hash(const char *s, size_t len)
{
	return XXH3_64bits(s, len);
}

uint64_t tsdb__bytes_hash(const void *p, size_t len)
{
	return XXH3_64bits(p, len);
}

/* ---- intern table ---- */

static int istr_grow(tsdb *db)
{
	uint32_t ncap = db->istr_cap ? db->istr_cap * 2 : 1024;
	tsdb__istr **nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return -1;
	for (uint32_t i = 0; i < db->istr_cap; i++) {
		tsdb__istr *e = db->istr[i];
		if (!e)
			continue;
		uint32_t j = (uint32_t)e->hash & (ncap - 1);
		while (nt[j])
			j = (j + 1) & (ncap - 1);
		nt[j] = e;
	}
	free(db->istr);
	db->istr = nt;
	db->istr_cap = ncap;
	return 0;
}

static uint32_t istr_find_slot(const tsdb *db, const char *s, size_t len, uint64_t hash)
{
	uint32_t mask = db->istr_cap - 1, j = (uint32_t)hash & mask;
	for (;;) {
		tsdb__istr *e = db->istr[j];
		if (!e || (e->hash == hash && e->len == len && memcmp(e->s, s, len) == 0))
			return j;
		j = (j + 1) & mask;
	}
}

const char *tsdb__intern_find(const tsdb *db, const char *s, size_t len)
{
	if (!db->istr_cap)
		return NULL;
	uint64_t h = tsdb__str_hash(s, len);
	tsdb__istr *e = db->istr[istr_find_slot(db, s, len, h)];
	return e ? e->s : NULL;
}

const char *tsdb__intern(tsdb *db, const char *s, size_t len, uint64_t hash)
{
	if (len > UINT32_MAX - 64)
		return NULL;
	if ((db->istr_n + 1) * 10 >= db->istr_cap * 7 && istr_grow(db))
		return NULL;
	uint32_t j = istr_find_slot(db, s, len, hash);
	tsdb__istr *e = db->istr[j];
	if (!e) {
		e = malloc(sizeof(*e) + len + 1);
		if (!e)
			return NULL;
		e->refs = 0;
		e->len = (uint32_t)len;
		e->snap_idx = UINT32_MAX;
		e->pad = 0;
		e->hash = hash;
		memcpy(e->s, s, len);
		e->s[len] = 0;
		db->istr[j] = e;
		db->istr_n++;
		db->label_bytes += len;
	}
	e->refs++;
	return e->s;
}

void tsdb__intern_unref(tsdb *db, const char *s, tsdb__grave **graves, uint64_t epoch)
{
	tsdb__istr *e = tsdb__istr_of(s);
	if (--e->refs > 0)
		return;
	/* unlink with backward-shift deletion */
	uint32_t mask = db->istr_cap - 1, i = (uint32_t)e->hash & mask;
	while (db->istr[i] != e)
		i = (i + 1) & mask;
	uint32_t j = i;
	for (;;) {
		db->istr[i] = NULL;
		for (;;) {
			j = (j + 1) & mask;
			if (!db->istr[j])
				goto unlinked;
			uint32_t k = (uint32_t)db->istr[j]->hash & mask;
			/* move entry j to hole i unless k lies cyclically in (i, j] */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		db->istr[i] = db->istr[j];
		i = j;
	}
unlinked:
	db->istr_n--;
	db->label_bytes -= e->len;
	if (!graves) { /* never published to readers (failed creation under the write lock) */
		free(e);
		return;
	}
	tsdb__grave *g = malloc(sizeof(*g));
	if (g) {
		g->epoch = epoch;
		g->kind = 0;
		g->ptr = e;
		g->next = *graves;
		*graves = g;
	}
	/* else out of memory for the grave record: leak the string rather than risk a reader */
}

/* ---- postings ---- */

int tsdb__postings_add(tsdb__postings *p, uint32_t id)
{
	if (p->n == p->cap) {
		uint32_t ncap = p->cap ? (p->cap < 1024 ? p->cap * 2 : p->cap + p->cap / 2) : 2;
		uint32_t *ni = realloc(p->ids, (size_t)ncap * sizeof(*ni));
		if (!ni)
			return -1;
		p->ids = ni;
		p->cap = ncap;
	}
	if (p->n == 0 || p->ids[p->n - 1] < id) {
		p->ids[p->n++] = id;
		return 0;
	}
	/* out-of-order insert (replay) */
	uint32_t lo = 0, hi = p->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (p->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < p->n && p->ids[lo] == id)
		return 0;
	memmove(p->ids + lo + 1, p->ids + lo, (size_t)(p->n - lo) * sizeof(*p->ids));
	p->ids[lo] = id;
	p->n++;
	return 0;
}

void tsdb__postings_remove(tsdb__postings *p, uint32_t id)
{
	uint32_t lo = 0, hi = p->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (p->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < p->n && p->ids[lo] == id) {
		memmove(p->ids + lo, p->ids + lo + 1, (size_t)(p->n - lo - 1) * sizeof(*p->ids));
		p->n--;
	}
}

/* ---- name and value tables ---- */

static inline uint32_t ihash(const char *interned)
{
	return (uint32_t)tsdb__istr_of(interned)->hash;
}

tsdb__name_ent *tsdb__index_name(const tsdb *db, const char *interned)
{
	if (!db->names_cap || !interned)
		return NULL;
	uint32_t mask = db->names_cap - 1, j = ihash(interned) & mask;
	for (;;) {
		tsdb__name_ent *e = &db->names[j];
		if (!e->name)
			return NULL;
		if (e->name == interned)
			return e;
		j = (j + 1) & mask;
	}
}

tsdb__postings *tsdb__index_value(const tsdb__name_ent *ne, const char *interned)
{
	if (!ne || !ne->capvals || !interned)
		return NULL;
	uint32_t mask = ne->capvals - 1, j = ihash(interned) & mask;
	for (;;) {
		tsdb__value_ent *e = &ne->vals[j];
		if (!e->value)
			return NULL;
		if (e->value == interned)
			return &e->p;
		j = (j + 1) & mask;
	}
}

/* The name and value tables share one layout: linear probing over `cap` (a power of two) entries
 * of `size` bytes whose first member is the interned key pointer (NULL = empty slot). */
_Static_assert(offsetof(tsdb__name_ent, name) == 0, "table key first");
_Static_assert(offsetof(tsdb__value_ent, value) == 0, "table key first");

static inline const char *table_key(const char *t, size_t size, uint32_t i)
{
	const char *key;
	memcpy(&key, t + (size_t)i * size, sizeof(key));
	return key;
}

/* Grows the table `tab` (cap entries; may be NULL when cap is 0) to twice its size, or to cap0
 * entries when empty, reinserting every entry at its ihash slot. Returns the new table, having
 * freed tab and set *cap; NULL when out of memory, with tab and *cap unchanged. O(cap). */
static void *table_grow(void *tab, uint32_t *cap, uint32_t cap0, size_t size)
{
	uint32_t ncap = *cap ? *cap * 2 : cap0;
	char *nt = calloc(ncap, size), *t = tab;
	if (!nt)
		return NULL;
	for (uint32_t i = 0; i < *cap; i++) {
		const char *key = table_key(t, size, i);
		if (!key)
			continue;
		uint32_t j = ihash(key) & (ncap - 1);
		while (table_key(nt, size, j))
			j = (j + 1) & (ncap - 1);
		memcpy(nt + (size_t)j * size, t + (size_t)i * size, size);
	}
	free(tab);
	*cap = ncap;
	return nt;
}

int tsdb__index_add(tsdb *db, const slod_labels *ls, uint32_t id)
{
	for (size_t i = 0; i < ls->n; i++) {
		const char *name = ls->v[i].name, *value = ls->v[i].value;
		if ((db->names_n + 1) * 4 >= db->names_cap * 3) {
			tsdb__name_ent *nt = table_grow(db->names, &db->names_cap, 64, sizeof(*nt));
			if (!nt)
				return TSDB_ERR_NOMEM;
			db->names = nt;
		}
		uint32_t mask = db->names_cap - 1, j = ihash(name) & mask;
		while (db->names[j].name && db->names[j].name != name)
			j = (j + 1) & mask;
		tsdb__name_ent *ne = &db->names[j];
		if (!ne->name) {
			ne->name = name;
			db->names_n++;
		}
		if ((ne->nvals + 1) * 4 >= ne->capvals * 3) {
			tsdb__value_ent *nt = table_grow(ne->vals, &ne->capvals, 4, sizeof(*nt));
			if (!nt)
				return TSDB_ERR_NOMEM;
			ne->vals = nt;
		}
		uint32_t vm = ne->capvals - 1, k = ihash(value) & vm;
		while (ne->vals[k].value && ne->vals[k].value != value)
			k = (k + 1) & vm;
		tsdb__value_ent *ve = &ne->vals[k];
		if (!ve->value) {
			ve->value = value;
			ne->nvals++;
		}
		if (tsdb__postings_add(&ve->p, id))
			return TSDB_ERR_NOMEM;
		ne->nseries++;
	}
	if (tsdb__postings_add(&db->all, id))
		return TSDB_ERR_NOMEM;
	return 0;
}

/* Backward-shift deletion of slot i in a table of the layout above. */
static void table_delete(void *tab, uint32_t cap, size_t size, uint32_t i)
{
	char *t = tab;
	uint32_t mask = cap - 1, j = i;
	for (;;) {
		memset(t + (size_t)i * size, 0, size);
		for (;;) {
			j = (j + 1) & mask;
			const char *key = table_key(t, size, j);
			if (!key)
				return;
			uint32_t k = ihash(key) & mask;
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		memcpy(t + (size_t)i * size, t + (size_t)j * size, size);
		i = j;
	}
}

void tsdb__index_remove(tsdb *db, const slod_labels *ls, uint32_t id)
{
	for (size_t i = 0; i < ls->n; i++) {
		const char *name = ls->v[i].name, *value = ls->v[i].value;
		if (!db->names_cap)
			return;
		uint32_t mask = db->names_cap - 1, j = ihash(name) & mask;
		while (db->names[j].name && db->names[j].name != name)
			j = (j + 1) & mask;
		tsdb__name_ent *ne = &db->names[j];
		if (!ne->name || !ne->capvals)
			continue;
		uint32_t vm = ne->capvals - 1, k = ihash(value) & vm;
		while (ne->vals[k].value && ne->vals[k].value != value)
			k = (k + 1) & vm;
		tsdb__value_ent *ve = &ne->vals[k];
		if (!ve->value)
			continue;
		uint32_t before = ve->p.n;
		tsdb__postings_remove(&ve->p, id);
		if (ve->p.n < before)
			ne->nseries--;
		if (ve->p.n == 0) {
			free(ve->p.ids);
			table_delete(ne->vals, ne->capvals, sizeof(*ne->vals), k);
			ne->nvals--;
		}
		if (ne->nvals == 0) {
			free(ne->vals);
			table_delete(db->names, db->names_cap, sizeof(*db->names), j);
			db->names_n--;
		}
	}
	tsdb__postings_remove(&db->all, id);
}

void tsdb__index_free(tsdb *db)
{
	for (uint32_t i = 0; i < db->names_cap; i++) {
		tsdb__name_ent *ne = &db->names[i];
		if (!ne->name)
			continue;
		for (uint32_t k = 0; k < ne->capvals; k++)
			free(ne->vals[k].p.ids);
		free(ne->vals);
	}
	free(db->names);
	db->names = NULL;
	db->names_cap = db->names_n = 0;
	free(db->all.ids);
	memset(&db->all, 0, sizeof(db->all));
	for (uint32_t i = 0; i < db->istr_cap; i++)
		free(db->istr[i]);
	free(db->istr);
	db->istr = NULL;
	db->istr_cap = db->istr_n = 0;
}

/* ---- selection ---- */

static bool matcher_match(const tsdb_matcher *m, const char *s, size_t len)
{
	const char *v = m->value ? m->value : "";
	switch (m->type) {
	case TSDB_MATCH_EQ:
		return strlen(v) == len && memcmp(v, s, len) == 0;
	case TSDB_MATCH_NEQ:
		return !(strlen(v) == len && memcmp(v, s, len) == 0);
	case TSDB_MATCH_RE:
		return m->re_match ? m->re_match(m->re, s, len) : false;
	case TSDB_MATCH_NRE:
		return m->re_match ? !m->re_match(m->re, s, len) : true;
	}
	return false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* LSD radix sort of 32-bit ids, two 16-bit passes (qsort below 8192 ids, where clearing the
 * 65536 counters would dominate). tmp has room for n. */
static void radix_sort(uint32_t *a, uint32_t *tmp, size_t n)
{
	if (n >= 64 && n < 8192) {
		qsort(a, n, sizeof(*a), cmp_u32);
		return;
	}
	if (n < 64) {
		for (size_t i = 1; i < n; i++) {
			uint32_t x = a[i];
			size_t j = i;
			while (j > 0 && a[j - 1] > x) {
				a[j] = a[j - 1];
				j--;
			}
			a[j] = x;
		}
		return;
	}
	static const int shifts[2] = {0, 16};
	size_t *cnt = calloc(65536, sizeof(size_t));
	if (!cnt) { /* fall back to insertion-free qsort-like path */
		for (size_t i = 1; i < n; i++) {
			uint32_t x = a[i];
			size_t j = i;
			while (j > 0 && a[j - 1] > x) {
				a[j] = a[j - 1];
				j--;
			}
			a[j] = x;
		}
		return;
	}
	for (int p = 0; p < 2; p++) {
		int sh = shifts[p];
		memset(cnt, 0, 65536 * sizeof(size_t));
		for (size_t i = 0; i < n; i++)
			cnt[(a[i] >> sh) & 0xffff]++;
		size_t sum = 0;
		for (size_t i = 0; i < 65536; i++) {
			size_t c = cnt[i];
			cnt[i] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[cnt[(a[i] >> sh) & 0xffff]++] = a[i];
		memcpy(a, tmp, n * sizeof(*a));
	}
	free(cnt);
}

typedef struct idset {
	uint32_t *v;
	size_t n, cap;
} idset;

static int idset_reserve(idset *s, size_t n)
{
	if (n <= s->cap)
		return 0;
	size_t nc = s->cap ? s->cap : 64;
	while (nc < n)
		nc *= 2;
	uint32_t *nv = realloc(s->v, nc * sizeof(*nv));
	if (!nv)
		return -1;
	s->v = nv;
	s->cap = nc;
	return 0;
}

/* Union (as a sorted set) of the postings of every value of ne with match(value) == want. */
static int union_values(const tsdb__name_ent *ne, const tsdb_matcher *m, bool want, idset *out, idset *tmp)
{
	out->n = 0;
	size_t lists = 0;
	for (uint32_t k = 0; k < ne->capvals; k++) {
		const tsdb__value_ent *ve = &ne->vals[k];
		if (!ve->value)
			continue;
		if (matcher_match(m, ve->value, tsdb__istr_of(ve->value)->len) != want)
			continue;
		if (idset_reserve(out, out->n + ve->p.n))
			return -1;
		if (ve->p.n)
			memcpy(out->v + out->n, ve->p.ids, ve->p.n * sizeof(uint32_t));
		out->n += ve->p.n;
		lists++;
	}
	if (lists > 1) {
		if (idset_reserve(tmp, out->n))
			return -1;
		radix_sort(out->v, tmp->v, out->n);
	}
	return 0;
}

static size_t lower_bound(const uint32_t *b, size_t lo, size_t nb, uint32_t x)
{
	size_t step = 1, hi = lo;
	while (hi < nb && b[hi] < x) { /* gallop */
		lo = hi + 1;
		hi += step;
		step *= 2;
	}
	if (hi > nb)
		hi = nb;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (b[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* a = a ∩ b (keep) or a \ b (!keep); both sorted. */
static void intersect(idset *a, const uint32_t *b, size_t nb, bool keep)
{
	size_t w = 0, j = 0;
	if (nb > 16 * a->n) {
		for (size_t i = 0; i < a->n; i++) {
			j = lower_bound(b, j, nb, a->v[i]);
			bool in = j < nb && b[j] == a->v[i];
			if (in == keep)
				a->v[w++] = a->v[i];
		}
	} else {
		for (size_t i = 0; i < a->n; i++) {
			while (j < nb && b[j] < a->v[i])
				j++;
			bool in = j < nb && b[j] == a->v[i];
			if (in == keep)
				a->v[w++] = a->v[i];
		}
	}
	a->n = w;
}

static const char *series_value(const tsdb__series *s, const char *name, size_t *len)
{
	/* labels are sorted by name; a linear scan is fine for ~10 labels */
	for (size_t i = 0; i < s->ls.n; i++) {
		int c = strcmp(s->ls.v[i].name, name);
		if (c == 0) {
			*len = tsdb__istr_of(s->ls.v[i].value)->len;
			return s->ls.v[i].value;
		}
		if (c > 0)
			break;
	}
	*len = 0;
	return "";
}

long tsdb__index_select(tsdb *db, const tsdb_matcher *m, size_t nm, uint32_t **ids, size_t *cap)
{
	idset res = {*ids, 0, *cap}, tmp = {0}, u = {0};
	long rc = TSDB_ERR_NOMEM;
	bool started = false;
	bool *done = NULL;
	if (nm) {
		done = calloc(nm, sizeof(*done));
		if (!done)
			goto out;
	}
	/* Pass 1: the smallest EQ matcher on an existing value (cheapest start). */
	size_t best = (size_t)-1, best_n = (size_t)-1;
	for (size_t i = 0; i < nm; i++) {
		if (m[i].type != TSDB_MATCH_EQ || !m[i].value || !m[i].value[0])
			continue;
		const char *in = tsdb__intern_find(db, m[i].name, strlen(m[i].name));
		const char *iv = tsdb__intern_find(db, m[i].value, strlen(m[i].value));
		tsdb__postings *p = tsdb__index_value(tsdb__index_name(db, in), iv);
		size_t n = p ? p->n : 0;
		if (n < best_n) {
			best = i;
			best_n = n;
		}
	}
	if (best != (size_t)-1) {
		const char *in = tsdb__intern_find(db, m[best].name, strlen(m[best].name));
		const char *iv = tsdb__intern_find(db, m[best].value, strlen(m[best].value));
		tsdb__postings *p = tsdb__index_value(tsdb__index_name(db, in), iv);
		if (idset_reserve(&res, best_n ? best_n : 1))
			goto out;
		if (p && p->n)
			memcpy(res.v, p->ids, p->n * sizeof(uint32_t));
		res.n = p ? p->n : 0;
		started = true;
		done[best] = true;
	}
	/* Pass 2: other matchers that do not match the empty string (they restrict to series having
	 * the label), then pass 3: matchers that do. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nm; i++) {
			if (done[i])
				continue;
			bool me = matcher_match(&m[i], "", 0);
			if (me != (pass == 1))
				continue;
			done[i] = true;
			if (started && res.n <= 256) {
				/* small candidate set: check labels directly */
				size_t w = 0;
				for (size_t k = 0; k < res.n; k++) {
					tsdb__series *s = tsdb__series_get(db, res.v[k]);
					size_t len;
					const char *v = s ? series_value(s, m[i].name, &len) : "";
					if (s && matcher_match(&m[i], v, s ? len : 0))
						res.v[w++] = res.v[k];
				}
				res.n = w;
				continue;
			}
			const char *in = tsdb__intern_find(db, m[i].name, strlen(m[i].name));
			tsdb__name_ent *ne = tsdb__index_name(db, in);
			if (!me) {
				if (!ne) {
					res.n = 0;
					started = true;
					continue;
				}
				if (union_values(ne, &m[i], true, &u, &tmp))
					goto out;
				if (!started) {
					if (idset_reserve(&res, u.n ? u.n : 1))
						goto out;
					if (u.n)
						memcpy(res.v, u.v, u.n * sizeof(uint32_t));
					res.n = u.n;
					started = true;
				} else {
					intersect(&res, u.v, u.n, true);
				}
			} else {
				if (!started) {
					if (idset_reserve(&res, db->all.n ? db->all.n : 1))
						goto out;
					if (db->all.n)
						memcpy(res.v, db->all.ids, db->all.n * sizeof(uint32_t));
					res.n = db->all.n;
					started = true;
				}
				if (!ne)
					continue;
				if (union_values(ne, &m[i], false, &u, &tmp))
					goto out;
				intersect(&res, u.v, u.n, false);
			}
		}
	}
	if (!started) {
		if (idset_reserve(&res, db->all.n ? db->all.n : 1))
			goto out;
		if (db->all.n)
			memcpy(res.v, db->all.ids, db->all.n * sizeof(uint32_t));
		res.n = db->all.n;
	}
	rc = (long)res.n;
out:
	*ids = res.v;
	*cap = res.cap;
	free(done);
	free(tmp.v);
	free(u.v);
	return rc;
}
