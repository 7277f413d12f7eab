/*
 * fuzz_remote_write2.c — libFuzzer target for the remote-write 2.0 decoder. Each input is fed
 * twice into a fresh in-memory tsdb: as a snappy-compressed body through ingest_ctx_remote_write()
 * with the 2.0 content type, and as an uncompressed io.prometheus.write.v2.Request through
 * ingest_ctx_write_request_v2_pb(). Small limits keep memory bounded (512 KiB decompressed).
 * Checks result invariants (one-line message, counters consistent with the outcome, Written counts)
 * and runs a differential check of ingest's wire walker against protobuf-c's generated unpacker of
 * ingest/rw2_decode.proto: both must agree on whether the bytes are a well-formed Request, on the
 * number of series, samples, histograms, exemplars and metadata, and — through a deliberately
 * naive re-statement of the 2.0 series rules over the unpacked structs — on which series are
 * rejected (count and their samples).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "ingest/rw2_decode.pb-c.h"
#include "util/labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LABELS 32
#define MAX_NAME 256
#define MAX_VALUE 1024

static void check(const ingest_result *res)
{
	if (strchr(res->message, '\n') || strlen(res->message) >= INGEST_MESSAGE_MAX)
		abort();
	if (res->samples_stored > res->samples)
		abort();
	if (res->outcome == INGEST_OK && res->message[0])
		abort();
	if (res->outcome != INGEST_OK && !res->message[0])
		abort();
	if (res->outcome != INGEST_OK && res->outcome != INGEST_BAD_REQUEST &&
	    (res->samples_stored || res->samples_written))
		abort();
	if (res->outcome == INGEST_OK && res->samples_stored + res->duplicates_dropped != res->samples)
		abort();
	if (res->outcome == INGEST_OK && res->samples_written != res->samples)
		abort();
	if (res->samples_written > res->samples || res->histograms_written || res->exemplars_written)
		abort();
	if (res->outcome != INGEST_UNSUPPORTED_MEDIA_TYPE && !res->written_headers)
		abort();
}

/* The 2.0 series rules, stated naively over protobuf-c's structs. Returns true if rejected. */
static bool series_rejected(const SlodRw2dec__Request *rq, const SlodRw2dec__TimeSeries *ts)
{
	size_t nsym = rq->n_symbols;
	if (ts->n_labels_refs % 2)
		return true;
	for (size_t i = 0; i < ts->n_labels_refs; i++)
		if (ts->labels_refs[i] >= nsym)
			return true;
	for (size_t e = 0; e < ts->n_exemplars; e++) {
		if (ts->exemplars[e]->n_labels_refs % 2)
			return true;
		for (size_t i = 0; i < ts->exemplars[e]->n_labels_refs; i++)
			if (ts->exemplars[e]->labels_refs[i] >= nsym)
				return true;
	}
	if (ts->metadata && (ts->metadata->help_ref >= nsym || ts->metadata->unit_ref >= nsym))
		return true;
	if (ts->n_samples && ts->n_histograms)
		return true;
	if (ts->n_labels_refs / 2 > MAX_LABELS)
		return true;
	if (!ts->n_samples)
		return false; /* nothing to store: label content is not judged */
	bool has_name = false;
	for (size_t i = 0; i < ts->n_labels_refs; i += 2) {
		const ProtobufCBinaryData *n = &rq->symbols[ts->labels_refs[i]];
		const ProtobufCBinaryData *v = &rq->symbols[ts->labels_refs[i + 1]];
		if (n->len == 0 || n->len > MAX_NAME || !labels_valid_name((const char *)n->data, n->len))
			return true;
		if (v->len == 0 || v->len > MAX_VALUE || memchr(v->data, 0, v->len) ||
		    !slod_utf8_valid((const char *)v->data, v->len))
			return true;
		if (i) {
			const ProtobufCBinaryData *p = &rq->symbols[ts->labels_refs[i - 2]];
			size_t m = p->len < n->len ? p->len : n->len;
			int c = memcmp(p->data, n->data, m);
			if (c > 0 || (c == 0 && p->len >= n->len))
				return true; /* not strictly increasing: unsorted or duplicate */
		}
		if (n->len == 8 && memcmp(n->data, "__name__", 8) == 0) {
			if (!labels_valid_metric_name((const char *)v->data, v->len))
				return true;
			has_name = true;
		}
	}
	return !has_name;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsdb_options o;
	tsdb_options_default(&o);
	o.dir = NULL;
	o.retention_ms = 0;
	o.max_series = 0;
	tsdb *db = NULL;
	char err[128];
	if (tsdb_open(&o, &db, err, sizeof err) != 0)
		abort();
	ingest_limits lim;
	ingest_limits_default(&lim);
	lim.max_body_bytes = 256 * 1024;
	lim.max_decompressed_bytes = 512 * 1024;
	lim.max_decode_bytes = 8u << 20;
	lim.max_series = 1u << 20; /* above any input size: the differential check needs full decodes */
	lim.max_labels_per_series = MAX_LABELS;
	lim.max_label_name_len = MAX_NAME;
	lim.max_label_value_len = MAX_VALUE;
	int64_t now = 1700000000000LL;
	slod_clock clock = slod_clock_manual(&now);
	ingest_ctx *cx = ingest_ctx_new(db, &lim, &clock);
	if (!cx)
		abort();
	ingest_result res;
	ingest_ctx_remote_write(cx, "application/x-protobuf;proto=io.prometheus.write.v2.Request", "snappy",
				"2.0.0", data, size, &res);
	check(&res);
	ingest_ctx_write_request_v2_pb(cx, data, size, &res);
	check(&res);
	bool walker_ok = !(res.outcome == INGEST_BAD_REQUEST && strncmp(res.message, "protobuf:", 9) == 0);
	/* a bad symbol table is decided after the top-level pre-scan, before series are walked: then
	 * protobuf-c may still find a malformed series, or must see the same bad table */
	bool walker_symbols_bad =
	    res.outcome == INGEST_BAD_REQUEST && strncmp(res.message, "symbols:", 8) == 0;
	SlodRw2dec__Request *rq = slod_rw2dec__request__unpack(NULL, size, data);
	bool symbols_bad =
	    rq && (rq->n_symbols || rq->n_timeseries) && (rq->n_symbols == 0 || rq->symbols[0].len);
	if (res.outcome != INGEST_TOO_LARGE &&
	    (walker_symbols_bad ? (rq && !symbols_bad) : (walker_ok != (rq != NULL) || symbols_bad)))
		abort();
	if (rq && res.outcome != INGEST_TOO_LARGE) {
		if (!symbols_bad) {
			uint64_t ns = 0, nh = 0, ne = 0, nmd = 0, nrej = 0, nrej_samples = 0;
			for (size_t i = 0; i < rq->n_timeseries; i++) {
				const SlodRw2dec__TimeSeries *ts = rq->timeseries[i];
				ns += ts->n_samples;
				nh += ts->n_histograms;
				ne += ts->n_exemplars;
				nmd += ts->metadata != NULL;
				if (series_rejected(rq, ts)) {
					nrej++;
					nrej_samples += ts->n_samples;
				}
			}
			if (res.series != rq->n_timeseries || res.samples != ns ||
			    res.histograms_ignored != nh || res.exemplars_ignored != ne ||
			    res.metadata_ignored != nmd)
				abort();
			if (res.outcome != INGEST_OVERLOADED && res.outcome != INGEST_INTERNAL &&
			    (res.rejected_series != nrej || res.rejected_invalid_labels != nrej_samples))
				abort();
		}
	}
	if (rq)
		slod_rw2dec__request__free_unpacked(rq, NULL);
	ingest_ctx_free(cx);
	tsdb_close(db);
	return 0;
}
