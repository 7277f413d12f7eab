/*
 * ingest_test_util.c — see ingest_test_util.h. Aborts on allocation failure (tests only).
 */
#include "ingest_test_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tsdb *itest_open(int64_t ooo_window_ms, size_t max_series)
{
	return itest_open_retention(ooo_window_ms, max_series, 0);
}

tsdb *itest_open_retention(int64_t ooo_window_ms, size_t max_series, int64_t retention_ms)
{
	tsdb_options o;
	tsdb_options_default(&o);
	o.dir = NULL;
	o.retention_ms = retention_ms;
	o.ooo_window_ms = ooo_window_ms;
	o.max_series = max_series;
	tsdb *db = NULL;
	char err[256];
	if (tsdb_open(&o, &db, err, sizeof err) != 0 || !db) {
		fprintf(stderr, "tsdb_open: %s\n", err);
		abort();
	}
	return db;
}

static void *xalloc(itest_req *r, size_t n)
{
	void *p = arena_calloc(&r->ar, 1, n);
	if (!p)
		abort();
	return p;
}

/* Grows an arena array of pointers by one (copying: the builder is for small test requests). */
static void push(itest_req *r, void ***arr, size_t *n, void *item)
{
	void **nv = xalloc(r, (*n + 1) * sizeof(void *));
	if (*n)
		memcpy(nv, *arr, *n * sizeof(void *));
	nv[(*n)++] = item;
	*arr = nv;
}

void itest_req_init(itest_req *r)
{
	arena_init(&r->ar, 0);
	prometheus__write_request__init(&r->req);
	r->cur = NULL;
}

void itest_req_deinit(itest_req *r)
{
	arena_deinit(&r->ar);
}

static Prometheus__Label *mklabel(itest_req *r, const char *n, const char *v)
{
	Prometheus__Label *l = xalloc(r, sizeof(*l));
	prometheus__label__init(l);
	l->name = arena_strdup(&r->ar, n);
	l->value = arena_strdup(&r->ar, v);
	return l;
}

void itest_series(itest_req *r, ...)
{
	Prometheus__TimeSeries *ts = xalloc(r, sizeof(*ts));
	prometheus__time_series__init(ts);
	va_list ap;
	va_start(ap, r);
	const char *n;
	while ((n = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		push(r, (void ***)&ts->labels, &ts->n_labels, mklabel(r, n, v));
	}
	va_end(ap);
	push(r, (void ***)&r->req.timeseries, &r->req.n_timeseries, ts);
	r->cur = ts;
}

static void put_varint(buf *b, uint64_t v)
{
	while (v >= 0x80) {
		if (buf_putc(b, (char)(v | 0x80)))
			abort();
		v >>= 7;
	}
	if (buf_putc(b, (char)v))
		abort();
}

static void put_bytes_field(buf *b, unsigned field, const void *p, size_t n)
{
	put_varint(b, (uint64_t)field << 3 | 2);
	put_varint(b, n);
	if (n && buf_append(b, p, n))
		abort();
}

void itest_raw_series(buf *pb, const char *lname, size_t nlen, const char *lval, size_t vlen, int64_t t, double v)
{
	buf ts, lab, smp;
	buf_init(&ts, 0);
	buf_init(&lab, 0);
	buf_init(&smp, 0);
	put_bytes_field(&lab, 1, "__name__", 8);
	put_bytes_field(&lab, 2, "raw_metric", 10);
	put_bytes_field(&ts, 1, lab.data, lab.len);
	buf_reset(&lab);
	put_bytes_field(&lab, 1, lname, nlen);
	put_bytes_field(&lab, 2, lval, vlen);
	put_bytes_field(&ts, 1, lab.data, lab.len);
	put_varint(&smp, 1 << 3 | 1);
	uint64_t bits = itest_bits(v);
	for (int i = 0; i < 8; i++)
		buf_putc(&smp, (char)(bits >> (8 * i)));
	put_varint(&smp, 2 << 3 | 0);
	put_varint(&smp, (uint64_t)t);
	put_bytes_field(&ts, 2, smp.data, smp.len);
	put_bytes_field(pb, 1, ts.data, ts.len);
	buf_deinit(&ts);
	buf_deinit(&lab);
	buf_deinit(&smp);
}

void itest_sample(itest_req *r, int64_t t, double v)
{
	Prometheus__Sample *s = xalloc(r, sizeof(*s));
	prometheus__sample__init(s);
	s->timestamp = t;
	s->value = v;
	push(r, (void ***)&r->cur->samples, &r->cur->n_samples, s);
}

void itest_exemplar(itest_req *r, int64_t t, double v)
{
	Prometheus__Exemplar *e = xalloc(r, sizeof(*e));
	prometheus__exemplar__init(e);
	e->timestamp = t;
	e->value = v;
	push(r, (void ***)&e->labels, &e->n_labels, mklabel(r, "trace_id", "abc123"));
	push(r, (void ***)&r->cur->exemplars, &r->cur->n_exemplars, e);
}

void itest_histogram(itest_req *r, int64_t t)
{
	Prometheus__Histogram *h = xalloc(r, sizeof(*h));
	prometheus__histogram__init(h);
	h->timestamp = t;
	h->count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
	h->count_int = 5;
	h->sum = 12.5;
	h->schema = 3;
	Prometheus__BucketSpan *sp = xalloc(r, sizeof(*sp));
	prometheus__bucket_span__init(sp);
	sp->offset = -2;
	sp->length = 2;
	push(r, (void ***)&h->positive_spans, &h->n_positive_spans, sp);
	int64_t *d = xalloc(r, 2 * sizeof(int64_t));
	d[0] = 3;
	d[1] = -1;
	h->positive_deltas = d;
	h->n_positive_deltas = 2;
	push(r, (void ***)&r->cur->histograms, &r->cur->n_histograms, h);
}

void itest_metadata(itest_req *r, const char *family, const char *help)
{
	Prometheus__MetricMetadata *m = xalloc(r, sizeof(*m));
	prometheus__metric_metadata__init(m);
	m->type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER;
	m->metric_family_name = arena_strdup(&r->ar, family);
	m->help = arena_strdup(&r->ar, help);
	push(r, (void ***)&r->req.metadata, &r->req.n_metadata, m);
}

void itest_pack(const itest_req *r, buf *out)
{
	size_t n = prometheus__write_request__get_packed_size(&r->req);
	if (buf_reserve(out, n + 1))
		abort();
	prometheus__write_request__pack(&r->req, (uint8_t *)out->data + out->len);
	out->len += n;
	out->data[out->len] = '\0';
}

void itest_encode(const itest_req *r, buf *out)
{
	if (ingest_encode_write_request(&r->req, out))
		abort();
}

long itest_samples(tsdb *db, tsdb_sample *out, size_t cap, ...)
{
	slod_label want[32];
	slod_labels wl = {want, 0};
	va_list ap;
	va_start(ap, cap);
	const char *n;
	while ((n = va_arg(ap, const char *)) != NULL && wl.n < 32) {
		want[wl.n].name = n;
		want[wl.n].value = va_arg(ap, const char *);
		wl.n++;
	}
	va_end(ap);
	labels_sort(&wl);
	tsdb_matcher m[32];
	for (size_t i = 0; i < wl.n; i++)
		m[i] = (tsdb_matcher){.type = TSDB_MATCH_EQ, .name = want[i].name, .value = want[i].value};
	tsdb_querier *q = tsdb_querier_open(db, INT64_MIN, INT64_MAX);
	tsdb_series *ss;
	size_t ns;
	long ret = -1;
	if (tsdb_querier_select(q, m, wl.n, &ss, &ns) == 0) {
		for (size_t i = 0; i < ns; i++) {
			if (!labels_equal(ss[i].labels, &wl))
				continue;
			tsdb_sample *b = NULL;
			size_t bc = 0;
			long k = tsdb_querier_samples(q, ss[i].ref, INT64_MIN, INT64_MAX, &b, &bc);
			ret = k;
			for (long j = 0; j < k && (size_t)j < cap; j++)
				out[j] = b[j];
			free(b);
			break;
		}
	}
	tsdb_querier_close(q);
	return ret;
}

size_t itest_count_series(tsdb *db, const char *name)
{
	tsdb_matcher m = {.type = name[0] ? TSDB_MATCH_EQ : TSDB_MATCH_NEQ, .name = SLOD_METRIC_NAME, .value = name};
	tsdb_querier *q = tsdb_querier_open(db, INT64_MIN, INT64_MAX);
	tsdb_series *ss;
	size_t ns = 0;
	if (tsdb_querier_select(q, &m, 1, &ss, &ns) != 0)
		ns = 0;
	tsdb_querier_close(q);
	return ns;
}

uint64_t itest_bits(double v)
{
	uint64_t b;
	memcpy(&b, &v, sizeof b);
	return b;
}

double itest_from_bits(uint64_t b)
{
	double v;
	memcpy(&v, &b, sizeof v);
	return v;
}
