/*
 * retention.c — dropping old chunks and empty series, deferred reclamation, cardinality stats.
 *
 * Reclamation (epoch scheme)
 *   db->epoch is a global counter. Appenders (from their first add until commit/rollback) and
 *   queriers (open..close) publish the epoch they started in (tsdb__pin). Retention unlinks objects
 *   (series from the stripe map, slot array and index; sealed chunk buffers from their series;
 *   interned strings from the intern table), tags them with the current epoch E, then bumps the
 *   epoch to E+1. Anyone pinned later cannot reach them; anyone pinned at <= E might, so a grave
 *   tagged E is freed only once no pin <= E remains. Each retention call frees what it can.
 *
 * Series removal: a series is removed when a retention pass finds it without samples on two
 *   consecutive passes (so a series created by an appender that has not committed yet survives one
 *   pass). An appender that staged a sample for a series removed before its commit re-resolves the
 *   series by labels at commit time (see head.c).
 *
 * Out-of-order samples: each pass also merges a series' out-of-order array back into its chunks
 *   (re-encoding the chunks it overlaps), so those samples cost raw 16 bytes only until the next
 *   pass.
 *
 * Costs: one pass over all series with each series' spin lock held only to trim its chunk vector;
 *   removals take the stripe mutex and the index write lock per series.
 */
#include <stdlib.h>
#include <string.h>

#include "tsdb/tsdb_int.h"

static void grave_add(tsdb__grave **list, int kind, void *ptr, uint64_t epoch)
{
	tsdb__grave *g = malloc(sizeof(*g));
	if (!g)
		return; /* leak rather than free under a reader */
	g->kind = kind;
	g->ptr = ptr;
	g->epoch = epoch;
	g->next = *list;
	*list = g;
}

/* Frees graves tagged with an epoch < before_epoch. Caller holds maint_mu (or is closing). */
void tsdb__graves_free(tsdb *db, uint64_t before_epoch)
{
	tsdb__grave **pp = &db->graves;
	while (*pp) {
		tsdb__grave *g = *pp;
		if (g->epoch < before_epoch) {
			*pp = g->next;
			if (g->kind == 1)
				tsdb__series_free(g->ptr);
			else
				free(g->ptr);
			free(g);
		} else {
			pp = &g->next;
		}
	}
}

static uint64_t min_pin(tsdb *db)
{
	uint64_t m = UINT64_MAX;
	pthread_mutex_lock(&db->pin_mu);
	for (tsdb__pin *p = db->pins.next; p != &db->pins; p = p->next) {
		uint64_t e = atomic_load(&p->epoch);
		if (e && e < m)
			m = e;
	}
	pthread_mutex_unlock(&db->pin_mu);
	return m;
}

static bool series_empty(const tsdb__series *s)
{
	return s->nchunks == 0 && !(s->app.data && s->app.count) && !(s->ooo && s->ooo->n);
}

/* Trims s below horizon h (caller holds the series lock). Returns chunks dropped. */
static long trim_series(tsdb *db, tsdb__series *s, int64_t h, uint64_t epoch)
{
	long dropped = 0;
	uint32_t k = 0;
	while (k < s->nchunks && s->chunks[k].maxt < h) {
		atomic_fetch_sub_explicit(&db->st_chunks, 1, memory_order_relaxed);
		atomic_fetch_sub_explicit(&db->st_chunk_bytes, s->chunks[k].len, memory_order_relaxed);
		atomic_fetch_sub_explicit(&db->st_chunk_samples, s->chunks[k].count, memory_order_relaxed);
		grave_add(&db->graves, 0, s->chunks[k].data, epoch);
		k++;
	}
	if (k) {
		memmove(s->chunks, s->chunks + k, (s->nchunks - k) * sizeof(*s->chunks));
		s->nchunks -= k;
		dropped += k;
	}
	if (s->app.data && s->app.count && s->app.t < h) {
		/* the open chunk is only read under the series lock (queriers copy it), so free now */
		atomic_fetch_sub_explicit(&db->st_chunks, 1, memory_order_relaxed);
		atomic_fetch_sub_explicit(&db->st_chunk_bytes, tsdb__chunk_app_len(&s->app), memory_order_relaxed);
		atomic_fetch_sub_explicit(&db->st_chunk_samples, s->app.count, memory_order_relaxed);
		free(s->app.data);
		memset(&s->app, 0, sizeof(s->app));
		dropped++;
	}
	if (s->ooo) {
		uint32_t j = 0;
		while (j < s->ooo->n && s->ooo->s[j].t < h)
			j++;
		if (j) {
			memmove(s->ooo->s, s->ooo->s + j, (s->ooo->n - j) * sizeof(s->ooo->s[0]));
			s->ooo->n -= j;
		}
	}
	/* recompute min_t */
	int64_t mn = INT64_MAX;
	if (s->nchunks)
		mn = s->chunks[0].mint;
	else if (s->app.data && s->app.count)
		mn = s->head_mint;
	if (s->ooo && s->ooo->n && s->ooo->s[0].t < mn)
		mn = s->ooo->s[0].t;
	s->min_t = mn;
	return dropped;
}

/* Merges s's out-of-order samples into its chunks (caller holds the series lock and maint_mu):
 * every chunk overlapping [oldest ooo sample, newest sample] is decoded, merged with the ooo
 * samples and re-encoded into chunks of TSDB_CHUNK_TARGET_SAMPLES, the last one left open.
 * Replaced sealed buffers go to the graves (queriers may be decoding them). All allocations
 * happen before anything is changed: on failure the series is left as it was. Returns 0 or -1. */
static int compact_ooo(tsdb *db, tsdb__series *s, uint64_t epoch)
{
	tsdb__ooo *o = s->ooo;
	if (!o || !o->n)
		return 0;
	int64_t from = o->s[0].t;
	uint32_t k = 0;
	while (k < s->nchunks && s->chunks[k].maxt < from)
		k++;
	size_t old_n = 0;
	for (uint32_t i = k; i < s->nchunks; i++)
		old_n += s->chunks[i].count;
	if (s->app.data)
		old_n += s->app.count;
	size_t total = old_n + o->n;
	struct {
		int64_t t;
		uint64_t v;
	} *m = malloc(total * sizeof(*m));
	size_t nnew = (total + TSDB_CHUNK_TARGET_SAMPLES - 1) / TSDB_CHUNK_TARGET_SAMPLES;
	uint8_t **bufs = calloc(nnew ? nnew : 1, sizeof(*bufs));
	tsdb__chunk_meta *metas = malloc((k + nnew) * sizeof(*metas) + 1);
	if (!m || !bufs || !metas)
		goto fail;
	/* decode the affected in-order samples and merge the ooo ones in (disjoint timestamps) */
	size_t n = 0, j = 0;
	for (uint32_t i = k; i <= s->nchunks; i++) {
		const uint8_t *d;
		size_t len;
		if (i < s->nchunks) {
			d = s->chunks[i].data;
			len = s->chunks[i].len;
		} else if (s->app.data) {
			d = s->app.data;
			len = tsdb__chunk_app_len(&s->app);
		} else {
			break;
		}
		tsdb__chunk_it it;
		tsdb__chunk_it_init(&it, d, len);
		int64_t t;
		double v;
		while (tsdb__chunk_it_next(&it, &t, &v) && n < total) {
			while (j < o->n && o->s[j].t < t && n < total) {
				m[n].t = o->s[j].t;
				m[n++].v = o->s[j++].v;
			}
			if (n >= total)
				break;
			m[n].t = t;
			memcpy(&m[n++].v, &v, sizeof(v));
		}
		if (it.err)
			goto fail;
	}
	while (j < o->n && n < total) {
		m[n].t = o->s[j].t;
		m[n++].v = o->s[j++].v;
	}
	if (n != total)
		goto fail;
	/* encode */
	tsdb__chunk_app app = {0};
	uint64_t bytes = 0;
	for (size_t c = 0; c < nnew; c++) {
		size_t lo = c * TSDB_CHUNK_TARGET_SAMPLES, hi = lo + TSDB_CHUNK_TARGET_SAMPLES;
		if (hi > total)
			hi = total;
		size_t cap = 2 + (hi - lo) * TSDB_CHUNK_MAX_SAMPLE_BYTES;
		bufs[c] = malloc(cap);
		if (!bufs[c])
			goto fail;
		tsdb__chunk_app_init(&app, bufs[c], cap);
		for (size_t x = lo; x < hi; x++) {
			double v;
			memcpy(&v, &m[x].v, sizeof(v));
			if (tsdb__chunk_app_append(&app, m[x].t, v) != 0)
				goto fail;
		}
		size_t len = tsdb__chunk_app_len(&app);
		if (c + 1 < nnew) { /* sealed: shrink to fit */
			uint8_t *sh = realloc(bufs[c], len);
			if (sh)
				bufs[c] = sh;
		}
		metas[k + c] = (tsdb__chunk_meta){m[lo].t, m[hi - 1].t, bufs[c], (uint32_t)len, (uint32_t)(hi - lo)};
		bytes += len;
	}
	/* swap: nothing below can fail */
	uint64_t old_bytes = 0;
	for (uint32_t i = k; i < s->nchunks; i++) {
		old_bytes += s->chunks[i].len;
		grave_add(&db->graves, 0, s->chunks[i].data, epoch);
	}
	uint32_t old_chunks = s->nchunks - k;
	if (s->app.data) {
		old_bytes += tsdb__chunk_app_len(&s->app);
		old_chunks++;
		free(s->app.data); /* only ever read under the series lock */
	}
	memcpy(metas, s->chunks, k * sizeof(*metas));
	free(s->chunks);
	s->chunks = metas;
	s->nchunks = (uint32_t)(k + nnew - 1);
	s->capchunks = (uint32_t)(k + nnew);
	/* the last new chunk stays open: app already points at it */
	s->app = app;
	s->head_mint = metas[k + nnew - 1].mint;
	s->max_t = m[total - 1].t;
	s->last_v = m[total - 1].v;
	if (s->min_t > m[0].t)
		s->min_t = m[0].t;
	atomic_fetch_add(&db->st_chunks, nnew);
	atomic_fetch_sub(&db->st_chunks, old_chunks);
	atomic_fetch_add(&db->st_chunk_bytes, bytes);
	atomic_fetch_sub(&db->st_chunk_bytes, old_bytes);
	atomic_fetch_add(&db->st_chunk_samples, o->n);
	free(o);
	s->ooo = NULL;
	free(m);
	free(bufs);
	return 0;
fail:
	for (size_t c = 0; bufs && c < nnew; c++)
		free(bufs[c]);
	free(bufs);
	free(metas);
	free(m);
	return -1;
}

/* Unlinks s if it is still empty. Caller holds maint_mu. Returns true if removed. */
static bool remove_series(tsdb *db, tsdb__series *s, uint64_t epoch)
{
	tsdb__stripe *st = &db->stripes[s->hash >> 58];
	bool removed = false;
	pthread_mutex_lock(&st->mu);
	tsdb__series_lock(s);
	if (series_empty(s)) {
		atomic_store(&s->dead, 1);
		removed = true;
	}
	tsdb__series_unlock(s);
	if (removed) {
		tsdb__stripe_remove(db, s->hash, s->ref);
		pthread_rwlock_wrlock(&db->idx_lock);
		tsdb__index_remove(db, &s->ls, s->ref);
		_Atomic(tsdb__series *) *page = db->pages[s->ref >> TSDB__PAGE_BITS];
		atomic_store(&page[s->ref & (TSDB__PAGE_SIZE - 1)], NULL);
		for (size_t i = 0; i < s->ls.n; i++) {
			tsdb__intern_unref(db, s->ls.v[i].name, &db->graves, epoch);
			tsdb__intern_unref(db, s->ls.v[i].value, &db->graves, epoch);
		}
		db->nseries--;
		pthread_rwlock_unlock(&db->idx_lock);
		grave_add(&db->graves, 1, s, epoch);
	}
	pthread_mutex_unlock(&st->mu);
	return removed;
}

long tsdb_apply_retention(tsdb *db, int64_t now_ms)
{
	long dropped = 0, removed = 0, compacted = 0;
	int64_t new_min = INT64_MAX;
	int64_t h = INT64_MIN;
	if (db->opt.retention_ms > 0 && now_ms > INT64_MIN + db->opt.retention_ms)
		h = now_ms - db->opt.retention_ms;
	pthread_mutex_lock(&db->maint_mu);
	int64_t cur = atomic_load(&db->min_valid_t);
	if (h > cur)
		atomic_store(&db->min_valid_t, h);
	uint64_t epoch = atomic_load(&db->epoch);
	for (uint32_t p = 0; p < TSDB__MAX_PAGES; p++) {
		_Atomic(tsdb__series *) *page = atomic_load(&db->pages[p]);
		if (!page)
			continue;
		for (uint32_t i = 0; i < TSDB__PAGE_SIZE; i++) {
			tsdb__series *s = atomic_load(&page[i]);
			if (!s)
				continue;
			tsdb__series_lock(s);
			dropped += trim_series(db, s, h, epoch);
			if (s->ooo && s->ooo->n && compact_ooo(db, s, epoch) == 0)
				compacted++;
			bool empty = series_empty(s);
			if (!empty && s->min_t < new_min)
				new_min = s->min_t;
			tsdb__series_unlock(s);
			if (!empty) {
				s->empty_passes = 0;
				continue;
			}
			if (++s->empty_passes >= 2 && remove_series(db, s, epoch))
				removed++;
		}
	}
	/* the oldest sample may have gone (a racing out-of-order append can make this slightly high) */
	atomic_store(&db->st_min_t, new_min);
	atomic_fetch_add(&db->epoch, 1);
	tsdb__graves_free(db, min_pin(db));
	pthread_mutex_unlock(&db->maint_mu);
	if (dropped || removed || compacted)
		slod_log(&db->opt.logger, SLOD_LOG_INFO, "tsdb",
			 "retention: dropped %ld chunks, removed %ld series, merged out-of-order samples of %ld series",
			 dropped, removed, compacted);
	return dropped;
}

/* ---- cardinality ---- */

static int cmp_entry(const void *a, const void *b)
{
	const tsdb_card_entry *x = a, *y = b;
	if (x->value != y->value)
		return x->value < y->value ? 1 : -1;
	return strcmp(x->name, y->name);
}

typedef struct elist {
	tsdb_card_entry *v;
	size_t n, cap;
} elist;

static int elist_push(elist *l, const char *a, const char *b, uint64_t value)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		tsdb_card_entry *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return -1;
		l->v = nv;
		l->cap = nc;
	}
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	char *s = malloc(la + (b ? lb + 1 : 0) + 1);
	if (!s)
		return -1;
	memcpy(s, a, la);
	if (b) {
		s[la] = '=';
		memcpy(s + la + 1, b, lb);
		s[la + 1 + lb] = 0;
	} else {
		s[la] = 0;
	}
	l->v[l->n].name = s;
	l->v[l->n].value = value;
	l->n++;
	return 0;
}

/* Sorts descending, keeps the top limit, frees the rest. */
static void elist_finish(elist *l, size_t limit, tsdb_card_entry **out, size_t *n)
{
	qsort(l->v, l->n, sizeof(*l->v), cmp_entry);
	for (size_t i = limit; i < l->n; i++)
		free(l->v[i].name);
	if (l->n > limit)
		l->n = limit;
	*out = l->v;
	*n = l->n;
	l->v = NULL;
}

int tsdb_get_cardinality(tsdb *db, size_t limit, tsdb_cardinality *out)
{
	elist bym = {0}, vals = {0}, pairs = {0}, mem = {0};
	int rc = TSDB_ERR_NOMEM;
	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&db->idx_lock);
	for (uint32_t i = 0; i < db->names_cap; i++) {
		const tsdb__name_ent *ne = &db->names[i];
		if (!ne->name)
			continue;
		bool is_metric = strcmp(ne->name, SLOD_METRIC_NAME) == 0;
		uint64_t bytes = 0;
		for (uint32_t k = 0; k < ne->capvals; k++) {
			const tsdb__value_ent *ve = &ne->vals[k];
			if (!ve->value)
				continue;
			/* as Prometheus 2.4x: value length times the series carrying it */
			bytes += (uint64_t)tsdb__istr_of(ve->value)->len * ve->p.n;
			if (is_metric && elist_push(&bym, ve->value, NULL, ve->p.n))
				goto out;
			if (elist_push(&pairs, ne->name, ve->value, ve->p.n))
				goto out;
		}
		if (elist_push(&vals, ne->name, NULL, ne->nvals) || elist_push(&mem, ne->name, NULL, bytes))
			goto out;
	}
	rc = 0;
out:
	pthread_rwlock_unlock(&db->idx_lock);
	if (rc == 0) {
		elist_finish(&bym, limit, &out->series_by_metric, &out->n_series_by_metric);
		elist_finish(&vals, limit, &out->values_by_label, &out->n_values_by_label);
		elist_finish(&pairs, limit, &out->series_by_label_pair, &out->n_series_by_label_pair);
		elist_finish(&mem, limit, &out->memory_by_label, &out->n_memory_by_label);
	} else {
		elist *ls[4] = {&bym, &vals, &pairs, &mem};
		for (int j = 0; j < 4; j++) {
			for (size_t i = 0; i < ls[j]->n; i++)
				free(ls[j]->v[i].name);
			free(ls[j]->v);
		}
	}
	return rc;
}

void tsdb_cardinality_free(tsdb_cardinality *c)
{
	if (!c)
		return;
	tsdb_card_entry *lists[4] = {c->series_by_metric, c->values_by_label, c->series_by_label_pair,
				     c->memory_by_label};
	size_t ns[4] = {c->n_series_by_metric, c->n_values_by_label, c->n_series_by_label_pair, c->n_memory_by_label};
	for (int j = 0; j < 4; j++) {
		for (size_t i = 0; i < ns[j]; i++)
			free(lists[j][i].name);
		free(lists[j]);
	}
	memset(c, 0, sizeof(*c));
}
