/*
 * rw2_test_util.c — see rw2_test_util.h. Every message lives in the rw2b struct; symbols are
 * strdup'd and freed by rw2b_free.
 */
#include "rw2_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

rw2b *rw2b_new(void)
{
	rw2b *b = calloc(1, sizeof(*b));
	assert_non_null(b);
	io__prometheus__write__v2__request__init(&b->req);
	b->req.symbols = b->sym;
	b->req.timeseries = b->tsp;
	rw2b_sym(b, "");
	return b;
}

void rw2b_free(rw2b *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->req.n_symbols; i++)
		free(b->sym[i]);
	free(b);
}

uint32_t rw2b_sym(rw2b *b, const char *s)
{
	for (size_t i = 0; i < b->req.n_symbols; i++)
		if (strcmp(b->sym[i], s) == 0)
			return (uint32_t)i;
	assert_true(b->req.n_symbols < RW2B_SYMS);
	b->sym[b->req.n_symbols] = strdup(s);
	assert_non_null(b->sym[b->req.n_symbols]);
	return (uint32_t)b->req.n_symbols++;
}

static size_t cur(const rw2b *b)
{
	assert_true(b->req.n_timeseries > 0);
	return b->req.n_timeseries - 1;
}

void rw2b_series(rw2b *b, ...)
{
	assert_true(b->req.n_timeseries < RW2B_SERIES);
	size_t s = b->req.n_timeseries++;
	Io__Prometheus__Write__V2__TimeSeries *ts = &b->ts[s];
	io__prometheus__write__v2__time_series__init(ts);
	ts->labels_refs = b->refs[s];
	ts->samples = b->smpp[s];
	ts->histograms = b->hp[s];
	ts->exemplars = b->exp_[s];
	b->tsp[s] = ts;
	va_list ap;
	va_start(ap, b);
	const char *n;
	while ((n = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		rw2b_ref(b, rw2b_sym(b, n));
		rw2b_ref(b, rw2b_sym(b, v));
	}
	va_end(ap);
}

void rw2b_ref(rw2b *b, uint32_t ref)
{
	Io__Prometheus__Write__V2__TimeSeries *ts = &b->ts[cur(b)];
	assert_true(ts->n_labels_refs < RW2B_REFS);
	ts->labels_refs[ts->n_labels_refs++] = ref;
}

void rw2b_sample(rw2b *b, int64_t t, double v)
{
	size_t s = cur(b);
	Io__Prometheus__Write__V2__TimeSeries *ts = &b->ts[s];
	assert_true(ts->n_samples < RW2B_SAMPLES);
	Io__Prometheus__Write__V2__Sample *x = &b->smp[s][ts->n_samples];
	io__prometheus__write__v2__sample__init(x);
	x->timestamp = t;
	x->value = v;
	ts->samples[ts->n_samples++] = x;
}

void rw2b_histogram(rw2b *b, int64_t t, uint64_t count)
{
	size_t s = cur(b);
	Io__Prometheus__Write__V2__TimeSeries *ts = &b->ts[s];
	assert_true(ts->n_histograms < RW2B_EXTRA);
	Io__Prometheus__Write__V2__Histogram *h = &b->h[s][ts->n_histograms];
	io__prometheus__write__v2__histogram__init(h);
	h->timestamp = t;
	h->count_case = IO__PROMETHEUS__WRITE__V2__HISTOGRAM__COUNT_COUNT_INT;
	h->count_int = count;
	h->sum = 1.5 * (double)count;
	h->schema = 3;
	ts->histograms[ts->n_histograms++] = h;
}

void rw2b_exemplar(rw2b *b, int64_t t, double v, const char *name, const char *value)
{
	size_t s = cur(b);
	Io__Prometheus__Write__V2__TimeSeries *ts = &b->ts[s];
	assert_true(ts->n_exemplars < RW2B_EXTRA);
	size_t k = ts->n_exemplars++;
	Io__Prometheus__Write__V2__Exemplar *e = &b->ex[s][k];
	io__prometheus__write__v2__exemplar__init(e);
	e->timestamp = t;
	e->value = v;
	e->labels_refs = b->exrefs[s][k];
	ts->exemplars[k] = e;
	if (name) {
		rw2b_exemplar_ref(b, rw2b_sym(b, name));
		rw2b_exemplar_ref(b, rw2b_sym(b, value));
	}
}

void rw2b_exemplar_ref(rw2b *b, uint32_t ref)
{
	size_t s = cur(b);
	Io__Prometheus__Write__V2__TimeSeries *ts = &b->ts[s];
	assert_true(ts->n_exemplars > 0);
	Io__Prometheus__Write__V2__Exemplar *e = ts->exemplars[ts->n_exemplars - 1];
	assert_true(e->n_labels_refs < 2);
	e->labels_refs[e->n_labels_refs++] = ref;
}

void rw2b_metadata(rw2b *b, int type, const char *help, const char *unit)
{
	size_t s = cur(b);
	Io__Prometheus__Write__V2__Metadata *m = &b->md[s];
	io__prometheus__write__v2__metadata__init(m);
	m->type = (Io__Prometheus__Write__V2__Metadata__MetricType)type;
	m->help_ref = rw2b_sym(b, help);
	m->unit_ref = rw2b_sym(b, unit);
	b->ts[s].metadata = m;
}

void rw2b_pack(const rw2b *b, buf *out)
{
	size_t n = io__prometheus__write__v2__request__get_packed_size(&b->req);
	assert_int_equal(buf_reserve(out, n + 1), 0);
	io__prometheus__write__v2__request__pack(&b->req, (uint8_t *)out->data + out->len);
	out->len += n;
	out->data[out->len] = '\0';
}

void rw2b_encode(const rw2b *b, buf *out)
{
	assert_int_equal(ingest_encode_write_request_v2(&b->req, out), 0);
}

void rw2_put_varint(buf *pb, uint64_t v)
{
	while (v >= 0x80) {
		assert_int_equal(buf_putc(pb, (char)(v | 0x80)), 0);
		v >>= 7;
	}
	assert_int_equal(buf_putc(pb, (char)v), 0);
}

void rw2_put_bytes(buf *pb, unsigned field, const void *p, size_t n)
{
	rw2_put_varint(pb, (uint64_t)field << 3 | 2);
	rw2_put_varint(pb, n);
	assert_int_equal(buf_append(pb, p, n), 0);
}
