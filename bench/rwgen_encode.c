/*
 * rwgen_encode.c — pre-encodes the whole load before anything is timed.
 *
 * Uses slod's protobuf-c-generated prompb encoder (ingest/prompb/remote.pb-c.h) and snappy's block
 * format, exactly what Prometheus's remote-write client sends (Content-Encoding: snappy).
 *
 * Layout: a plan is n_steps x n_blocks requests, ordered step-major: request r is step r / n_blocks
 * of block r % n_blocks, and block b carries one sample for each of the series
 * [b*batch, min((b+1)*batch, n_series)). "Live-shaped": like a remote-write queue shipping the
 * latest scrape of every series, one sample per series per request.
 *
 * Costs: the label structs of every series are built once (O(n_series * labels)); each request is
 * one protobuf pack into a reused scratch buffer and one snappy pass; memory is the sum of the
 * compressed bodies (~35 bytes per sample for the default model).
 */
#include "bench/rwgen.h"

#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/prompb/remote.pb-c.h"

typedef struct series_pb {
	Prometheus__Label lab[RWGEN_MAX_LABELS + 2];
	Prometheus__Label *labp[RWGEN_MAX_LABELS + 2];
	size_t n;
} series_pb;

void rwgen_plan_deinit(rwgen_plan *p)
{
	if (p->reqs)
		for (size_t r = 0; r < p->n_reqs; r++)
			free(p->reqs[r].body);
	free(p->reqs);
	memset(p, 0, sizeof(*p));
}

int rwgen_plan_build(rwgen_plan *p, const rwgen_model *m, uint32_t n_steps, uint32_t batch,
                     int64_t start_ms, int64_t step_ms, char *errbuf, size_t errlen)
{
	int rc = -1;
	series_pb *spb = NULL;
	Prometheus__TimeSeries *ts = NULL, **tsp = NULL;
	Prometheus__Sample *smp = NULL, **smpp = NULL;
	uint8_t *raw = NULL;
	rwgen_values vals = {0};

	memset(p, 0, sizeof(*p));
	if (batch == 0 || m->n_series == 0 || n_steps == 0) {
		snprintf(errbuf, errlen, "empty plan (series, steps and batch must be > 0)");
		return -1;
	}
	p->n_blocks = (m->n_series + batch - 1) / batch;
	p->n_reqs = p->n_blocks * n_steps;
	p->start_ms = start_ms;
	p->step_ms = step_ms;
	p->reqs = calloc(p->n_reqs, sizeof(*p->reqs));
	spb = calloc(m->n_series, sizeof(*spb));
	ts = calloc(batch, sizeof(*ts));
	tsp = calloc(batch, sizeof(*tsp));
	smp = calloc(batch, sizeof(*smp));
	smpp = calloc(batch, sizeof(*smpp));
	if (!p->reqs || !spb || !ts || !tsp || !smp || !smpp || rwgen_values_init(&vals, m) != 0) {
		snprintf(errbuf, errlen, "out of memory building the plan");
		goto out;
	}
	for (size_t i = 0; i < m->n_series; i++) {
		rwgen_label l[RWGEN_MAX_LABELS + 2];
		int n = rwgen_model_labels(m, i, l, RWGEN_MAX_LABELS + 2);
		if (n < 0) {
			snprintf(errbuf, errlen, "series %zu: too many labels", i);
			goto out;
		}
		for (int k = 0; k < n; k++) {
			prometheus__label__init(&spb[i].lab[k]);
			spb[i].lab[k].name = (char *)l[k].name;
			spb[i].lab[k].value = (char *)l[k].value;
			spb[i].labp[k] = &spb[i].lab[k];
		}
		spb[i].n = (size_t)n;
	}
	for (uint32_t j = 0; j < batch; j++) {
		prometheus__time_series__init(&ts[j]);
		prometheus__sample__init(&smp[j]);
		smpp[j] = &smp[j];
		ts[j].n_samples = 1;
		ts[j].samples = &smpp[j];
		tsp[j] = &ts[j];
	}

	size_t raw_cap = 0;
	for (uint32_t t = 0; t < n_steps; t++) {
		for (size_t b = 0; b < p->n_blocks; b++) {
			size_t first = b * batch, n = m->n_series - first;
			if (n > batch)
				n = batch;
			for (size_t j = 0; j < n; j++) {
				size_t i = first + j;
				ts[j].n_labels = spb[i].n;
				ts[j].labels = spb[i].labp;
				smp[j].timestamp = start_ms + (int64_t)t * step_ms;
				smp[j].value = rwgen_values_next(&vals, m, i, t);
			}
			Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
			wr.n_timeseries = n;
			wr.timeseries = tsp;
			size_t need = prometheus__write_request__get_packed_size(&wr);
			if (need > raw_cap) {
				free(raw);
				raw_cap = need * 2;
				raw = malloc(raw_cap);
				if (!raw) {
					snprintf(errbuf, errlen, "out of memory (protobuf scratch)");
					goto out;
				}
			}
			size_t got = prometheus__write_request__pack(&wr, raw);
			size_t zcap = snappy_max_compressed_length(got);
			rwgen_req *rq = &p->reqs[(size_t)t * p->n_blocks + b];
			rq->body = malloc(zcap);
			if (!rq->body) {
				snprintf(errbuf, errlen, "out of memory (request bodies)");
				goto out;
			}
			rq->len = zcap;
			if (snappy_compress((const char *)raw, got, (char *)rq->body, &rq->len) != SNAPPY_OK) {
				snprintf(errbuf, errlen, "snappy_compress failed");
				goto out;
			}
			uint8_t *shrunk = realloc(rq->body, rq->len);
			if (shrunk)
				rq->body = shrunk;
			rq->n_samples = (uint32_t)n;
			rq->step = t;
			rq->block = (uint32_t)b;
			rq->raw_len = got;
			p->n_samples += n;
			p->raw_bytes += got;
			p->wire_bytes += rq->len;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		rwgen_plan_deinit(p);
	rwgen_values_deinit(&vals);
	free(raw);
	free(spb);
	free(ts);
	free(tsp);
	free(smp);
	free(smpp);
	return rc;
}

long rwgen_decode(const uint8_t *body, size_t len, rwgen_series_fn fn, void *ud, char *errbuf, size_t errlen)
{
	size_t rawlen = 0;
	long total = -1;
	char *raw = NULL;
	Prometheus__WriteRequest *wr = NULL;
	int64_t *tsv = NULL;
	double *vv = NULL;

	if (snappy_uncompressed_length((const char *)body, len, &rawlen) != SNAPPY_OK || rawlen > (256u << 20)) {
		snprintf(errbuf, errlen, "bad snappy header");
		return -1;
	}
	raw = malloc(rawlen ? rawlen : 1);
	if (!raw) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	if (snappy_uncompress((const char *)body, len, raw, &rawlen) != SNAPPY_OK) {
		snprintf(errbuf, errlen, "corrupt snappy body");
		goto out;
	}
	wr = prometheus__write_request__unpack(NULL, rawlen, (const uint8_t *)raw);
	if (!wr) {
		snprintf(errbuf, errlen, "protobuf unpack failed");
		goto out;
	}
	total = 0;
	for (size_t s = 0; s < wr->n_timeseries; s++) {
		const Prometheus__TimeSeries *t = wr->timeseries[s];
		rwgen_label l[64];
		int nl = t->n_labels < 64 ? (int)t->n_labels : 64;
		for (int k = 0; k < nl; k++)
			l[k] = (rwgen_label){t->labels[k]->name, t->labels[k]->value};
		free(tsv);
		free(vv);
		tsv = malloc((t->n_samples + 1) * sizeof(*tsv));
		vv = malloc((t->n_samples + 1) * sizeof(*vv));
		if (!tsv || !vv) {
			snprintf(errbuf, errlen, "out of memory");
			total = -1;
			goto out;
		}
		for (size_t k = 0; k < t->n_samples; k++) {
			tsv[k] = t->samples[k]->timestamp;
			vv[k] = t->samples[k]->value;
		}
		if (fn)
			fn(ud, l, nl, tsv, vv, t->n_samples);
		total += (long)t->n_samples;
	}
out:
	if (wr)
		prometheus__write_request__free_unpacked(wr, NULL);
	free(raw);
	free(tsv);
	free(vv);
	return total;
}
