/*
 * remote_write.c — Prometheus remote-write 1.0: header checks, snappy block decompression,
 * protobuf-c unpack into the request arena, per-series validation and append.
 *
 * Pipeline and bounds (see ingest.h for the status mapping):
 *   headers ─► len <= max_body_bytes ─► snappy varint header <= max_decompressed_bytes (nothing
 *   allocated yet) ─► snappy_uncompress into cx->dbuf ─► slod_rwdec__write_request__unpack with an
 *   arena allocator capped at max_decode_bytes ─► n_timeseries <= max_series ─► per series:
 *   label checks, sort, dedup, __name__ check, hash once, append.
 *
 * The arena allocator hands out size+1 bytes for every request protobuf-c makes, so every block has
 * one writable byte past its end: label name/value `bytes` fields (rw_decode.proto) are
 * NUL-terminated IN PLACE and used as C strings without copying. An embedded NUL is detected with
 * memchr on the real length and rejects the series.
 *
 * Costs: snappy ~1 GB/s; protobuf-c unpack allocates one struct per Sample/Label/TimeSeries from the
 * arena (bump pointer); per series O(labels^2) insertion sort (label sets are small), one XXH3
 * hash; per sample one tsdb call. Decoded structures cost ~3-5x the decompressed size.
 *
 * When unpack fails, diagnose() walks the wire format once more with the WriteRequest schema to
 * produce a one-line reason with a byte offset (protobuf-c itself gives none).
 */
#include "ingest/ingest_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <snappy-c.h>

#include "ingest/rw_decode.pb-c.h"

#define DBUF_KEEP (4u << 20)

/* ---- header checks ---- */

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Length of s[0..n) without trailing spaces/tabs. */
static size_t trim_len(const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

static bool token_eq(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && strncasecmp(s, lit, n) == 0;
}

/* Returns 0 if ct is acceptable; else -1 with why filled. *explicit_v1 is set when the content type
 * names prometheus.WriteRequest explicitly. */
static int check_content_type(const char *ct, bool *explicit_v1, char *why, size_t cap)
{
	*explicit_v1 = false;
	if (!ct)
		return 0;
	const char *p = skip_ws(ct);
	if (!*p)
		return 0;
	const char *semi = strchr(p, ';');
	size_t mlen = trim_len(p, semi ? (size_t)(semi - p) : strlen(p));
	if (!token_eq(p, mlen, "application/x-protobuf")) {
		snprintf(why, cap, "unsupported Content-Type \"%s\": expected application/x-protobuf (remote-write 1.0)",
			 ct);
		return -1;
	}
	while (semi) {
		p = skip_ws(semi + 1);
		semi = strchr(p, ';');
		size_t plen = trim_len(p, semi ? (size_t)(semi - p) : strlen(p));
		const char *eq = memchr(p, '=', plen);
		if (!eq)
			continue;
		size_t klen = trim_len(p, (size_t)(eq - p));
		if (!token_eq(p, klen, "proto"))
			continue;
		const char *v = skip_ws(eq + 1);
		size_t vlen = plen - (size_t)(v - p);
		if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
			v++;
			vlen -= 2;
		}
		if (token_eq(v, vlen, "prometheus.WriteRequest")) {
			*explicit_v1 = true;
			continue;
		}
		if (token_eq(v, vlen, "io.prometheus.write.v2.Request")) {
			snprintf(why, cap, "remote-write 2.0 (proto=io.prometheus.write.v2.Request) is not supported: "
					   "only remote-write 1.0 (prometheus.WriteRequest) is");
			return -1;
		}
		snprintf(why, cap, "unsupported protobuf message \"%.*s\": only remote-write 1.0 "
				   "(prometheus.WriteRequest) is supported", (int)(vlen > 100 ? 100 : vlen), v);
		return -1;
	}
	return 0;
}

static int check_encoding(const char *enc, char *why, size_t cap)
{
	if (!enc)
		return 0;
	const char *p = skip_ws(enc);
	size_t n = trim_len(p, strlen(p));
	if (n == 0 || token_eq(p, n, "snappy"))
		return 0;
	snprintf(why, cap, "unsupported Content-Encoding \"%s\": only snappy is accepted", enc);
	return -1;
}

static int check_version(const char *ver, bool explicit_v1, char *why, size_t cap)
{
	if (!ver || explicit_v1)
		return 0;
	const char *p = skip_ws(ver);
	if (p[0] == '2' && (p[1] == '.' || p[1] == '\0' || p[1] == ' ')) {
		snprintf(why, cap, "remote-write version \"%s\" is not supported: only remote-write 1.0 is", ver);
		return -1;
	}
	return 0;
}

/* ---- arena allocator for protobuf-c ---- */

static void *pb_alloc(void *ud, size_t size)
{
	ingest_ctx *cx = ud;
	if (size == SIZE_MAX) {
		cx->ar_refused = true;
		return NULL;
	}
	void *p = arena_alloc(&cx->ar, size + 1); /* +1: room for an in-place NUL, see top comment */
	if (!p) {
		size_t need = (size + 1 + 15) & ~(size_t)15;
		if (cx->ar.limit && (need > cx->ar.limit || cx->ar.used > cx->ar.limit - need))
			cx->ar_refused = true;
		else
			cx->ar_oom = true;
	}
	return p;
}

static void pb_free(void *ud, void *p)
{
	(void)ud;
	(void)p; /* the arena is reset after the request */
}

/* ---- diagnosing a malformed body ---- */

enum { MSG_WRITE, MSG_SERIES, MSG_LABEL, MSG_SAMPLE, MSG_OPAQUE };
static const char *const msg_names[] = {"WriteRequest", "TimeSeries", "Label", "Sample", "message"};

/* Expected wire type of a known field (-1: unknown field, anything goes) and the message type of
 * a length-delimited field to recurse into (MSG_OPAQUE: do not recurse). */
static int field_shape(int m, uint64_t field, int *sub)
{
	*sub = MSG_OPAQUE;
	switch (m) {
	case MSG_WRITE:
		if (field == 1)
			*sub = MSG_SERIES;
		return field == 1 || field == 3 ? 2 : -1;
	case MSG_SERIES:
		if (field == 1)
			*sub = MSG_LABEL;
		if (field == 2)
			*sub = MSG_SAMPLE;
		return field >= 1 && field <= 4 ? 2 : -1;
	case MSG_LABEL:
		return field == 1 || field == 2 ? 2 : -1;
	case MSG_SAMPLE:
		return field == 1 ? 1 : field == 2 ? 0 : -1;
	default:
		return -1;
	}
}

/* Reads a varint at *off (< end). Returns false when truncated or longer than 10 bytes. */
static bool read_varint(const uint8_t *p, size_t *off, size_t end, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned i = 0; i < 10; i++) {
		if (*off >= end)
			return false;
		uint8_t b = p[(*off)++];
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* Walks p[off..end) as message m; on the first problem writes a reason and returns true. */
static bool diagnose(const uint8_t *p, size_t off, size_t end, int m, char *why, size_t cap)
{
	while (off < end) {
		size_t at = off;
		uint64_t tag, v;
		if (!read_varint(p, &off, end, &tag)) {
			snprintf(why, cap, "protobuf: truncated field tag in %s at byte %zu", msg_names[m], at);
			return true;
		}
		uint64_t field = tag >> 3;
		int wt = (int)(tag & 7);
		if (field == 0 || field > 536870911u) {
			snprintf(why, cap, "protobuf: invalid field number %llu in %s at byte %zu",
				 (unsigned long long)field, msg_names[m], at);
			return true;
		}
		int sub;
		int want = field_shape(m, field, &sub);
		if (want >= 0 && want != wt) {
			snprintf(why, cap, "protobuf: field %llu of %s has wire type %d, expected %d, at byte %zu",
				 (unsigned long long)field, msg_names[m], wt, want, at);
			return true;
		}
		switch (wt) {
		case 0:
			if (!read_varint(p, &off, end, &v)) {
				snprintf(why, cap, "protobuf: truncated varint field %llu in %s at byte %zu",
					 (unsigned long long)field, msg_names[m], at);
				return true;
			}
			break;
		case 1:
		case 5: {
			size_t need = wt == 1 ? 8 : 4;
			if (end - off < need) {
				snprintf(why, cap, "protobuf: truncated fixed%zu field %llu in %s at byte %zu", need * 8,
					 (unsigned long long)field, msg_names[m], at);
				return true;
			}
			off += need;
			break;
		}
		case 2:
			if (!read_varint(p, &off, end, &v)) {
				snprintf(why, cap, "protobuf: truncated length of field %llu in %s at byte %zu",
					 (unsigned long long)field, msg_names[m], at);
				return true;
			}
			if (v > end - off) {
				snprintf(why, cap,
					 "protobuf: field %llu of %s at byte %zu claims %llu bytes but only %zu remain",
					 (unsigned long long)field, msg_names[m], at, (unsigned long long)v, end - off);
				return true;
			}
			if (sub != MSG_OPAQUE && diagnose(p, off, off + (size_t)v, sub, why, cap))
				return true;
			off += (size_t)v;
			break;
		default:
			snprintf(why, cap, "protobuf: unsupported wire type %d (field %llu) in %s at byte %zu", wt,
				 (unsigned long long)field, msg_names[m], at);
			return true;
		}
	}
	return false;
}

/* ---- validation and append ---- */

/* Fills cx->scratch from ts's labels (NUL-terminating in place) and checks each one. Returns 0,
 * or -1 after rejecting the series. */
static int series_labels(ingest_ctx *cx, const SlodRwdec__TimeSeries *ts, slod_labels *ls, ingest_result *res)
{
	const ingest_limits *lim = &cx->lim;
	uint64_t ns = ts->n_samples;
	ls->v = cx->scratch;
	ls->n = 0;
	if (ts->n_labels > lim->max_labels_per_series) {
		ingest__reject_series(cx, res, NULL, ns, "too many labels (%zu, limit %zu)", ts->n_labels,
				      lim->max_labels_per_series);
		return -1;
	}
	for (size_t i = 0; i < ts->n_labels; i++) {
		ProtobufCBinaryData *n = &ts->labels[i]->name, *v = &ts->labels[i]->value;
		if (n->data)
			n->data[n->len] = '\0';
		if (v->data)
			v->data[v->len] = '\0';
		cx->scratch[i].name = n->data ? (const char *)n->data : "";
		cx->scratch[i].value = v->data ? (const char *)v->data : "";
	}
	ls->n = ts->n_labels;
	for (size_t i = 0; i < ts->n_labels; i++) {
		const ProtobufCBinaryData *n = &ts->labels[i]->name, *v = &ts->labels[i]->value;
		const char *name = cx->scratch[i].name;
		if (n->len == 0) {
			ingest__reject_series(cx, res, ls, ns, "empty label name");
			return -1;
		}
		if (n->len > lim->max_label_name_len) {
			ingest__reject_series(cx, res, NULL, ns, "label name of %zu bytes exceeds the limit of %zu",
					      n->len, lim->max_label_name_len);
			return -1;
		}
		if (!labels_valid_name(name, n->len)) {
			ingest__reject_series(cx, res, ls, ns, "invalid label name \"%.64s\"", name);
			return -1;
		}
		if (v->len > lim->max_label_value_len) {
			ingest__reject_series(cx, res, NULL, ns, "value of label \"%.64s\" (%zu bytes) exceeds the limit of %zu",
					      name, v->len, lim->max_label_value_len);
			return -1;
		}
		if (v->len && memchr(v->data, '\0', v->len)) {
			ingest__reject_series(cx, res, ls, ns, "NUL byte in value of label \"%s\"", name);
			return -1;
		}
		if (!utf8_valid((const char *)cx->scratch[i].value, v->len)) {
			ingest__reject_series(cx, res, ls, ns, "invalid UTF-8 in value of label \"%s\"", name);
			return -1;
		}
	}
	return ingest__canonicalise(cx, ls, ns, res);
}

static ingest_outcome decode_and_store(ingest_ctx *cx, const uint8_t *pb, size_t n, ingest_result *res)
{
	ProtobufCAllocator al = {.alloc = pb_alloc, .free = pb_free, .allocator_data = cx};
	SlodRwdec__WriteRequest *req = slod_rwdec__write_request__unpack(&al, n, pb);
	if (!req) {
		if (cx->ar_refused)
			return ingest__fail(cx, res, INGEST_TOO_LARGE,
					    "decoded request needs more than %zu bytes (max_decode_bytes)",
					    cx->lim.max_decode_bytes);
		if (cx->ar_oom)
			return ingest__fail(cx, res, INGEST_OVERLOADED, "out of memory decoding the request");
		char why[INGEST_MESSAGE_MAX];
		if (!diagnose(pb, 0, n, MSG_WRITE, why, sizeof why))
			snprintf(why, sizeof why, "protobuf: malformed WriteRequest (%zu bytes)", n);
		return ingest__fail(cx, res, INGEST_BAD_REQUEST, "%s", why);
	}
	if (req->n_timeseries > cx->lim.max_series)
		return ingest__fail(cx, res, INGEST_TOO_LARGE, "%zu series in one request exceed the limit of %zu",
				    req->n_timeseries, cx->lim.max_series);
	res->series = req->n_timeseries;
	res->metadata_ignored = req->n_metadata;
	for (size_t i = 0; i < req->n_timeseries; i++) {
		const SlodRwdec__TimeSeries *ts = req->timeseries[i];
		res->samples += ts->n_samples;
		res->exemplars_ignored += ts->n_exemplars;
		res->histograms_ignored += ts->n_histograms;
	}
	for (size_t i = 0; i < req->n_timeseries && !cx->fatal; i++) {
		const SlodRwdec__TimeSeries *ts = req->timeseries[i];
		slod_labels ls;
		if (series_labels(cx, ts, &ls, res) != 0 || ts->n_samples == 0)
			continue;
		ingest__series s;
		ingest__series_start(&s, &ls);
		for (size_t k = 0; k < ts->n_samples; k++)
			if (ingest__append(cx, &s, ts->samples[k]->timestamp, ts->samples[k]->value, res) != 0)
				break;
	}
	return ingest__finish(cx, res);
}

ingest_outcome ingest_ctx_write_request_pb(ingest_ctx *cx, const void *pb, size_t len, ingest_result *res)
{
	ingest__begin(cx, res);
	if (len > cx->lim.max_decompressed_bytes)
		return ingest__fail(cx, res, INGEST_TOO_LARGE, "request of %zu bytes exceeds the limit of %zu", len,
				    cx->lim.max_decompressed_bytes);
	return decode_and_store(cx, pb, len, res);
}

ingest_outcome ingest_ctx_remote_write(ingest_ctx *cx, const char *content_type, const char *content_encoding,
				       const char *rw_version_header, const void *body, size_t len,
				       ingest_result *res)
{
	char why[INGEST_MESSAGE_MAX];
	bool explicit_v1;
	ingest__begin(cx, res);
	if (check_content_type(content_type, &explicit_v1, why, sizeof why) ||
	    check_encoding(content_encoding, why, sizeof why) ||
	    check_version(rw_version_header, explicit_v1, why, sizeof why))
		return ingest__fail(cx, res, INGEST_UNSUPPORTED_MEDIA_TYPE, "%s", why);
	if (len > cx->lim.max_body_bytes)
		return ingest__fail(cx, res, INGEST_TOO_LARGE, "compressed body of %zu bytes exceeds the limit of %zu",
				    len, cx->lim.max_body_bytes);
	size_t ulen;
	if (len == 0 || snappy_uncompressed_length(body, len, &ulen) != SNAPPY_OK)
		return ingest__fail(cx, res, INGEST_BAD_REQUEST, "snappy: corrupt block header (%zu bytes body)", len);
	if (ulen > cx->lim.max_decompressed_bytes)
		return ingest__fail(cx, res, INGEST_TOO_LARGE,
				    "snappy: declared decompressed size %zu exceeds the limit of %zu", ulen,
				    cx->lim.max_decompressed_bytes);
	if (ulen > cx->dcap || !cx->dbuf) {
		char *nb = realloc(cx->dbuf, ulen ? ulen : 1);
		if (!nb)
			return ingest__fail(cx, res, INGEST_OVERLOADED, "out of memory (%zu bytes to decompress)", ulen);
		cx->dbuf = nb;
		cx->dcap = ulen ? ulen : 1;
	}
	size_t got = ulen;
	ingest_outcome o;
	if (snappy_uncompress(body, len, cx->dbuf, &got) != SNAPPY_OK || got != ulen)
		o = ingest__fail(cx, res, INGEST_BAD_REQUEST, "snappy: corrupt compressed data");
	else
		o = decode_and_store(cx, (const uint8_t *)cx->dbuf, got, res);
	if (cx->dcap > DBUF_KEEP) {
		free(cx->dbuf);
		cx->dbuf = NULL;
		cx->dcap = 0;
	}
	return o;
}
