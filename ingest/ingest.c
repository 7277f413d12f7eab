/*
 * ingest.c — the parts of ingest shared by both formats: limits, the context lifecycle, label-set
 * canonicalisation, the per-sample append accounting, the one-line result message, and the
 * encoding helpers for tests/benchmarks.
 *
 * Data layout: an ingest_ctx (ingest_internal.h) owns one tsdb_appender, one arena (reset after
 * every request, keeping its newest block), a decompression buffer (kept up to 4 MiB) and a scratch
 * label array of lim.max_labels_per_series entries. Nothing here allocates per series except the
 * first rejection's message text.
 *
 * Message format (ingest__finish): parts joined by "; ", e.g.
 *   rejected 3 of 500 series: duplicate label name "job" in series {__name__="up", job="a"}; 2 samples
 *   out of order (first: {__name__="x"} @1700000000000)
 * then made printable (control bytes and invalid UTF-8 become '?') and cut to INGEST_MESSAGE_MAX-1.
 */
#include "ingest/ingest_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "ingest/prompb/remote.pb-c.h"
#include "ingest/prompb/write_v2.pb-c.h"

void ingest_limits_default(ingest_limits *lim)
{
	lim->max_body_bytes = 16u << 20;
	lim->max_decompressed_bytes = 32u << 20;
	lim->max_decode_bytes = 256u << 20;
	lim->max_series = 1000000;
	lim->max_labels_per_series = 128;
	lim->max_label_name_len = 1024;
	lim->max_label_value_len = 16384;
	lim->max_future_ms = 10 * 60 * 1000;
}

int ingest_outcome_http_status(ingest_outcome o)
{
	switch (o) {
	case INGEST_OK: return 204;
	case INGEST_BAD_REQUEST: return 400;
	case INGEST_UNSUPPORTED_MEDIA_TYPE: return 415;
	case INGEST_TOO_LARGE: return 413;
	case INGEST_OVERLOADED: return 503;
	case INGEST_INTERNAL: return 500;
	}
	return 500;
}

const char *ingest_outcome_name(ingest_outcome o)
{
	switch (o) {
	case INGEST_OK: return "ok";
	case INGEST_BAD_REQUEST: return "bad_request";
	case INGEST_UNSUPPORTED_MEDIA_TYPE: return "unsupported_media_type";
	case INGEST_TOO_LARGE: return "too_large";
	case INGEST_OVERLOADED: return "overloaded";
	case INGEST_INTERNAL: return "internal";
	}
	return "internal";
}

ingest_ctx *ingest_ctx_new(tsdb *db, const ingest_limits *lim, const slod_clock *clock)
{
	ingest_ctx *cx = calloc(1, sizeof(*cx));
	if (!cx)
		return NULL;
	cx->db = db;
	if (lim)
		cx->lim = *lim;
	else
		ingest_limits_default(&cx->lim);
	if (cx->lim.max_labels_per_series == 0)
		cx->lim.max_labels_per_series = 1;
	if (cx->lim.max_labels_per_series > INGEST_MAX_LABELS_CAP)
		cx->lim.max_labels_per_series = INGEST_MAX_LABELS_CAP;
	if (clock && clock->now_ms) {
		cx->clock = *clock;
		cx->has_clock = true;
	}
	arena_init(&cx->ar, cx->lim.max_decode_bytes);
	cx->scratch = malloc(cx->lim.max_labels_per_series * sizeof(*cx->scratch));
	cx->rawlab = malloc(cx->lim.max_labels_per_series * sizeof(*cx->rawlab));
	cx->bat = malloc(INGEST__BATCH * sizeof(*cx->bat));
	cx->bat_labcap = INGEST__BATCH * INGEST__BATCH_LABELS;
	if (cx->bat_labcap < cx->lim.max_labels_per_series)
		cx->bat_labcap = cx->lim.max_labels_per_series;
	cx->bat_labs = malloc(cx->bat_labcap * sizeof(*cx->bat_labs));
	cx->app = tsdb_appender_new(db);
	if (!cx->scratch || !cx->rawlab || !cx->bat || !cx->bat_labs || !cx->app) {
		ingest_ctx_free(cx);
		return NULL;
	}
	return cx;
}

void ingest_ctx_free(ingest_ctx *cx)
{
	if (!cx)
		return;
	if (cx->app)
		tsdb_appender_free(cx->app);
	arena_deinit(&cx->ar);
	free(cx->dbuf);
	free(cx->scratch);
	free(cx->rawlab);
	free(cx->bat);
	free(cx->bat_labs);
	free(cx->strbuf);
	free(cx->syms);
	free(cx);
}

void ingest__begin(ingest_ctx *cx, ingest_result *res)
{
	memset(res, 0, sizeof(*res));
	arena_reset(&cx->ar);
	cx->ar_refused = cx->ar_oom = false;
	cx->pending = 0;
	cx->bat_n = cx->bat_nlab = cx->bat_str = 0;
	cx->fatal = false;
	cx->fatal_outcome = INGEST_OK;
	cx->reject_detail[0] = '\0';
	cx->sample_detail[0] = '\0';
	cx->now_ms = cx->has_clock ? slod_clock_now(&cx->clock) : 0;
}

/* ---- messages ---- */

/* vsnprintf into dst[cap]; cuts silently. */
static void fmt_into(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fmt_into(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
}

/* Appends "{a="b", ...}" for ls to dst (cap bytes, NUL-terminated, cut if needed). */
static void series_text(const slod_labels *ls, char *dst, size_t cap)
{
	buf b;
	buf_init(&b, 4096);
	if (ls && labels_format(ls, &b) == 0 && b.data)
		fmt_into(dst, cap, "%s", b.data);
	else if (ls)
		snprintf(dst, cap, "{...}");
	else
		dst[0] = '\0';
	buf_deinit(&b);
}

void ingest__reject_series(ingest_ctx *cx, ingest_result *res, const slod_labels *ls, uint64_t nsamples,
			   const char *fmt, ...)
{
	res->rejected_series++;
	res->rejected_invalid_labels += nsamples;
	if (cx->reject_detail[0])
		return;
	char reason[INGEST__DETAIL_MAX];
	char series[INGEST__DETAIL_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	series_text(ls, series, sizeof series);
	if (series[0])
		fmt_into(cx->reject_detail, sizeof cx->reject_detail, "%s in series %s", reason, series);
	else
		fmt_into(cx->reject_detail, sizeof cx->reject_detail, "%s", reason);
}

/* Copies src into dst (cap) replacing control bytes and invalid UTF-8 with '?'. */
static void sanitize(char *dst, size_t cap, const char *src)
{
	size_t o = 0;
	const unsigned char *s = (const unsigned char *)src;
	while (*s && o + 1 < cap) {
		if (*s < 0x80) {
			dst[o++] = (*s < 0x20 || *s == 0x7f) ? '?' : (char)*s;
			s++;
			continue;
		}
		size_t len = (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3 : (*s & 0xf8) == 0xf0 ? 4 : 0;
		size_t avail = strnlen((const char *)s, 4);
		if (len && len <= avail && slod_utf8_valid((const char *)s, len)) {
			if (o + len + 1 > cap)
				break;
			memcpy(dst + o, s, len);
			o += len;
			s += len;
		} else {
			dst[o++] = '?';
			s++;
		}
	}
	dst[o] = '\0';
}

static void set_message(ingest_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_message(ingest_result *res, const char *fmt, ...)
{
	char tmp[INGEST_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	sanitize(res->message, sizeof res->message, tmp);
}

ingest_outcome ingest__fail(ingest_ctx *cx, ingest_result *res, ingest_outcome o, const char *fmt, ...)
{
	char tmp[INGEST_MESSAGE_MAX];
	va_list ap;
	tsdb_appender_rollback(cx->app);
	arena_reset(&cx->ar);
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	sanitize(res->message, sizeof res->message, tmp);
	res->samples_stored = 0;
	res->outcome = o;
	return o;
}

/* ---- labels ---- */

int ingest__canonicalise(ingest_ctx *cx, slod_labels *ls, uint64_t nsamples, ingest_result *res)
{
	labels_sort(ls);
	long d = labels_find_duplicate(ls);
	if (d >= 0) {
		ingest__reject_series(cx, res, ls, nsamples, "duplicate label name \"%s\"", ls->v[d].name);
		return -1;
	}
	const char *name = labels_get(ls, SLOD_METRIC_NAME);
	if (!name || !name[0]) {
		ingest__reject_series(cx, res, ls, nsamples, "missing metric name (__name__)");
		return -1;
	}
	if (!labels_valid_metric_name(name, strlen(name))) {
		ingest__reject_series(cx, res, ls, nsamples, "invalid metric name \"%s\"", name);
		return -1;
	}
	size_t o = 0;
	for (size_t i = 0; i < ls->n; i++)
		if (ls->v[i].value[0])
			ls->v[o++] = ls->v[i];
	ls->n = o;
	return 0;
}

/* ---- appending ---- */

void ingest__series_start(ingest__series *s, const slod_labels *ls)
{
	s->ls = ls;
	s->hash = labels_hash(ls);
	s->ref = 0;
	s->dead = false;
	s->has_last = false;
}

static void sample_detail(ingest_ctx *cx, const ingest__series *s, int64_t t)
{
	if (cx->sample_detail[0])
		return;
	char series[INGEST__DETAIL_MAX - 32];
	series_text(s->ls, series, sizeof series);
	fmt_into(cx->sample_detail, sizeof cx->sample_detail, "%s @%lld", series, (long long)t);
}

int ingest__append(ingest_ctx *cx, ingest__series *s, int64_t t, double v, ingest_result *res)
{
	if (s->dead) {
		res->rejected_limit++;
		return 0;
	}
	if (cx->has_clock && cx->lim.max_future_ms > 0 && t > cx->now_ms &&
	    (uint64_t)t - (uint64_t)cx->now_ms > (uint64_t)cx->lim.max_future_ms) {
		res->too_far_future++;
		sample_detail(cx, s, t);
		return 0;
	}
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	if (s->has_last && t == s->last_t) {
		if (bits == s->last_bits) {
			res->duplicates_dropped++;
		} else {
			res->duplicate_timestamp++;
			sample_detail(cx, s, t);
		}
		return 0;
	}
	int rc = s->ref ? tsdb_appender_add_ref(cx->app, s->ref, t, v)
			: tsdb_appender_add_hashed(cx->app, s->ls, s->hash, t, v, &s->ref);
	if (rc == TSDB_ERR_INVALID && s->ref) {
		/* the series was dropped (retention) since its ref was learnt: look it up again */
		s->ref = 0;
		rc = tsdb_appender_add_hashed(cx->app, s->ls, s->hash, t, v, &s->ref);
	}
	switch (rc) {
	case 0:
		cx->pending++;
		s->has_last = true;
		s->last_t = t;
		s->last_bits = bits;
		return 0;
	case 1:
		res->duplicates_dropped++;
		return 0;
	case TSDB_ERR_OUT_OF_ORDER:
		res->out_of_order++;
		sample_detail(cx, s, t);
		return 0;
	case TSDB_ERR_TOO_OLD:
		res->too_old++;
		sample_detail(cx, s, t);
		return 0;
	case TSDB_ERR_DUPLICATE:
		res->duplicate_timestamp++;
		sample_detail(cx, s, t);
		return 0;
	case TSDB_ERR_LIMIT:
	case TSDB_ERR_INVALID:
		/* the whole series is refused; count it once and its samples as they come */
		s->dead = true;
		res->rejected_series++;
		res->rejected_limit++;
		if (!cx->reject_detail[0]) {
			char series[INGEST__DETAIL_MAX - 40];
			series_text(s->ls, series, sizeof series);
			fmt_into(cx->reject_detail, sizeof cx->reject_detail, "%s for series %s",
				 rc == TSDB_ERR_LIMIT ? "series limit reached" : "storage refused labels", series);
		}
		return 0;
	case TSDB_ERR_NOMEM:
		cx->fatal = true;
		cx->fatal_outcome = INGEST_OVERLOADED;
		return -1;
	default:
		cx->fatal = true;
		cx->fatal_outcome = INGEST_INTERNAL;
		return -1;
	}
}

/* Appends "; " (unless first) and a printf-formatted part to msg[cap] at *o; cuts silently. */
static void part(char *msg, size_t cap, size_t *o, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void part(char *msg, size_t cap, size_t *o, const char *fmt, ...)
{
	if (*o && *o + 3 < cap) {
		memcpy(msg + *o, "; ", 3);
		*o += 2;
	}
	if (*o + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg + *o, cap - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o = *o + (size_t)n < cap ? *o + (size_t)n : cap - 1;
}

ingest_outcome ingest__finish(ingest_ctx *cx, ingest_result *res)
{
	if (cx->fatal)
		return ingest__fail(cx, res, cx->fatal_outcome, "%s",
				    cx->fatal_outcome == INGEST_OVERLOADED ? "storage out of memory"
									   : "storage error while appending");
	int rc = tsdb_appender_commit(cx->app);
	arena_reset(&cx->ar);
	if (rc == TSDB_ERR_NOMEM) {
		/* tsdb applied whole prefixes of some series, not all: the sender's retry completes it */
		res->samples_stored = 0;
		res->outcome = INGEST_OVERLOADED;
		set_message(res, "storage out of memory while committing; part of the request may be stored, retry");
		return res->outcome;
	}
	if (rc != 0) {
		res->samples_stored = 0;
		res->outcome = INGEST_INTERNAL;
		set_message(res, "storage commit failed (code %d); nothing stored", rc);
		return res->outcome;
	}
	res->samples_stored = cx->pending;
	res->samples_written = res->samples_stored + res->duplicates_dropped;

	char msg[INGEST_MESSAGE_MAX * 2];
	size_t o = 0;
	msg[0] = '\0';
	if (res->rejected_series)
		part(msg, sizeof msg, &o, "rejected %llu of %llu series: %s", (unsigned long long)res->rejected_series,
		     (unsigned long long)res->series, cx->reject_detail);
	uint64_t bad_samples = res->out_of_order + res->too_old + res->duplicate_timestamp + res->too_far_future;
	if (res->out_of_order)
		part(msg, sizeof msg, &o, "%llu samples out of order", (unsigned long long)res->out_of_order);
	if (res->too_old)
		part(msg, sizeof msg, &o, "%llu samples too old", (unsigned long long)res->too_old);
	if (res->duplicate_timestamp)
		part(msg, sizeof msg, &o, "%llu samples with a duplicate timestamp and a different value",
		     (unsigned long long)res->duplicate_timestamp);
	if (res->too_far_future)
		part(msg, sizeof msg, &o, "%llu samples too far in the future", (unsigned long long)res->too_far_future);
	if (bad_samples)
		part(msg, sizeof msg, &o, "first: %s", cx->sample_detail);
	if (res->rejected_series || bad_samples) {
		res->outcome = INGEST_BAD_REQUEST;
		set_message(res, "%s (%llu samples stored)", msg, (unsigned long long)res->samples_stored);
	} else {
		res->outcome = INGEST_OK;
		res->message[0] = '\0';
	}
	return res->outcome;
}

/* ---- one-shot wrappers ---- */

ingest_outcome ingest_remote_write(tsdb *db, const ingest_limits *lim, const char *content_type,
				   const char *content_encoding, const char *rw_version_header, const void *body,
				   size_t len, ingest_result *res)
{
	slod_clock clock = slod_clock_system();
	ingest_ctx *cx = ingest_ctx_new(db, lim, &clock);
	if (!cx) {
		memset(res, 0, sizeof(*res));
		res->outcome = INGEST_OVERLOADED;
		snprintf(res->message, sizeof res->message, "out of memory");
		return res->outcome;
	}
	ingest_outcome o = ingest_ctx_remote_write(cx, content_type, content_encoding, rw_version_header, body, len,
						   res);
	ingest_ctx_free(cx);
	return o;
}

/* ---- encoding ---- */

int ingest_snappy_compress(const void *data, size_t len, buf *out)
{
	size_t max = snappy_max_compressed_length(len);
	if (buf_reserve(out, max + 1))
		return -1;
	size_t n = max;
	if (snappy_compress(data, len, out->data + out->len, &n) != SNAPPY_OK)
		return -1;
	out->len += n;
	out->data[out->len] = '\0';
	return 0;
}

int ingest_encode_write_request(const struct Prometheus__WriteRequest *req, buf *out)
{
	size_t n = prometheus__write_request__get_packed_size(req);
	uint8_t *tmp = malloc(n ? n : 1);
	if (!tmp)
		return -1;
	prometheus__write_request__pack(req, tmp);
	int rc = ingest_snappy_compress(tmp, n, out);
	free(tmp);
	return rc;
}

int ingest_encode_write_request_v2(const struct Io__Prometheus__Write__V2__Request *req, buf *out)
{
	size_t n = io__prometheus__write__v2__request__get_packed_size(req);
	uint8_t *tmp = malloc(n ? n : 1);
	if (!tmp)
		return -1;
	io__prometheus__write__v2__request__pack(req, tmp);
	int rc = ingest_snappy_compress(tmp, n, out);
	free(tmp);
	return rc;
}
