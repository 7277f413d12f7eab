/*
 * h_write.c — POST /api/v1/write (Prometheus remote-write 1.0 and 2.0) and POST /api/v1/import/prometheus
 * (text exposition format), both through the ingest module.
 *
 * Each request borrows an ingest_ctx from the server's small pool (mutex-guarded stack of at most
 * API_INGEST_POOL idle contexts), so the decode arena, decompression buffer and appender stay warm
 * across requests without one context being shared by two threads. The ingest outcome maps to the
 * HTTP status by ingest_outcome_http_status (204/400/413/415/503/500); non-204 answers carry
 * ingest's one-line message as a text/plain body. Outcomes and per-reason rejected sample counts
 * are added to the server's metrics. A remote-write 2.0 answer (ingest_result.written_headers) also
 * carries the X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written headers.
 */
#include "api/internal.h"

#include <inttypes.h>
#include <stdio.h>

static ingest_ctx *ctx_acquire(api_server *s)
{
	ingest_ctx *cx = NULL;
	pthread_mutex_lock(&s->pool_lock);
	if (s->npool)
		cx = s->pool[--s->npool];
	pthread_mutex_unlock(&s->pool_lock);
	if (!cx)
		cx = ingest_ctx_new(s->backend.db, &s->ingest_limits, &s->opt.clock);
	return cx;
}

static void ctx_release(api_server *s, ingest_ctx *cx)
{
	pthread_mutex_lock(&s->pool_lock);
	if (s->npool < API_INGEST_POOL) {
		s->pool[s->npool++] = cx;
		cx = NULL;
	}
	pthread_mutex_unlock(&s->pool_lock);
	ingest_ctx_free(cx);
}

static void add(_Atomic uint64_t *c, uint64_t v)
{
	if (v)
		atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static void account(api_server *s, _Atomic uint64_t *outcomes, ingest_outcome o, const ingest_result *res)
{
	if ((unsigned)o < 8)
		add(&outcomes[o], 1);
	add(&s->metrics.samples_stored, res->samples_stored);
	add(&s->metrics.rejected[API_REJ_INVALID_LABELS], res->rejected_invalid_labels);
	add(&s->metrics.rejected[API_REJ_LIMIT], res->rejected_limit);
	add(&s->metrics.rejected[API_REJ_OUT_OF_ORDER], res->out_of_order);
	add(&s->metrics.rejected[API_REJ_TOO_OLD], res->too_old);
	add(&s->metrics.rejected[API_REJ_DUPLICATE_TIMESTAMP], res->duplicate_timestamp);
	add(&s->metrics.rejected[API_REJ_TOO_FAR_FUTURE], res->too_far_future);
}

static void answer(api_req *r, ingest_outcome o, const ingest_result *res)
{
	int status = ingest_outcome_http_status(o);
	if (res->written_headers) { /* remote-write 2.0: the counts, whatever the status */
		char v[24];
		snprintf(v, sizeof v, "%" PRIu64, res->samples_written);
		api__reply_header(r, "X-Prometheus-Remote-Write-Samples-Written", v);
		snprintf(v, sizeof v, "%" PRIu64, res->histograms_written);
		api__reply_header(r, "X-Prometheus-Remote-Write-Histograms-Written", v);
		snprintf(v, sizeof v, "%" PRIu64, res->exemplars_written);
		api__reply_header(r, "X-Prometheus-Remote-Write-Exemplars-Written", v);
	}
	if (status == 204 || status == 200)
		api__reply_empty(r, status);
	else
		api__reply_text(r, status, "%s", res->message[0] ? res->message : ingest_outcome_name(o));
}

void api__h_write(api_req *r)
{
	api_server *s = r->srv;
	ingest_ctx *cx = ctx_acquire(s);
	if (!cx) {
		api__reply_text(r, 503, "out of memory");
		return;
	}
	ingest_result res;
	ingest_outcome o = ingest_ctx_remote_write(cx, api__header(r, "Content-Type"),
						   api__header(r, "Content-Encoding"),
						   api__header(r, "X-Prometheus-Remote-Write-Version"),
						   r->body.data ? r->body.data : "", r->body.len, &res);
	ctx_release(s, cx);
	account(s, s->metrics.rw_outcomes, o, &res);
	answer(r, o, &res);
}

void api__h_import_text(api_req *r)
{
	api_server *s = r->srv;
	ingest_ctx *cx = ctx_acquire(s);
	if (!cx) {
		api__reply_text(r, 503, "out of memory");
		return;
	}
	ingest_result res;
	ingest_outcome o = ingest_ctx_text(cx, r->body.data ? r->body.data : "", r->body.len,
					   slod_clock_now(&s->opt.clock), &res);
	ctx_release(s, cx);
	account(s, s->metrics.import_outcomes, o, &res);
	answer(r, o, &res);
}

void api__metrics_ingest(api_req *r, buf *b)
{
	static const char *const reasons[API_REJ_N] = {"invalid_labels", "series_limit", "out_of_order",
						       "too_old", "duplicate_timestamp", "too_far_future"};
	api_metrics *m = &r->srv->metrics;
	buf_puts(b, "# HELP slod_remote_write_requests_total Remote-write requests, by outcome.\n"
		    "# TYPE slod_remote_write_requests_total counter\n");
	for (int o = INGEST_OK; o <= INGEST_INTERNAL; o++)
		buf_printf(b, "slod_remote_write_requests_total{outcome=\"%s\"} %" PRIu64 "\n",
			   ingest_outcome_name((ingest_outcome)o),
			   atomic_load_explicit(&m->rw_outcomes[o], memory_order_relaxed));
	buf_puts(b, "# HELP slod_import_requests_total Text-format import requests, by outcome.\n"
		    "# TYPE slod_import_requests_total counter\n");
	for (int o = INGEST_OK; o <= INGEST_INTERNAL; o++)
		buf_printf(b, "slod_import_requests_total{outcome=\"%s\"} %" PRIu64 "\n",
			   ingest_outcome_name((ingest_outcome)o),
			   atomic_load_explicit(&m->import_outcomes[o], memory_order_relaxed));
	buf_printf(b,
		   "# HELP slod_samples_ingested_total Samples stored through remote write and import.\n"
		   "# TYPE slod_samples_ingested_total counter\nslod_samples_ingested_total %" PRIu64 "\n",
		   atomic_load_explicit(&m->samples_stored, memory_order_relaxed));
	buf_puts(b, "# HELP slod_samples_rejected_total Samples refused at ingestion, by reason.\n"
		    "# TYPE slod_samples_rejected_total counter\n");
	for (int i = 0; i < API_REJ_N; i++)
		buf_printf(b, "slod_samples_rejected_total{reason=\"%s\"} %" PRIu64 "\n", reasons[i],
			   atomic_load_explicit(&m->rejected[i], memory_order_relaxed));
}
