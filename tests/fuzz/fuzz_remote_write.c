/*
 * fuzz_remote_write.c — libFuzzer target for the remote-write decoder. Each input is fed twice
 * into a fresh in-memory tsdb: as a snappy-compressed body through ingest_ctx_remote_write() and
 * as an uncompressed WriteRequest through ingest_ctx_write_request_pb(). Small limits keep memory
 * bounded (512 KiB decompressed). Checks result invariants (a one-line message, counters
 * consistent with the outcome) and runs a differential check of ingest's hand-written wire walker
 * against protobuf-c's generated unpacker for the same schema (ingest/rw_decode.proto): both must
 * agree on whether the bytes are a well-formed WriteRequest, and on the number of series, samples,
 * exemplars, histograms and metadata entries.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "ingest/rw_decode.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	if (res->outcome != INGEST_OK && res->outcome != INGEST_BAD_REQUEST && res->samples_stored)
		abort();
	if (res->outcome == INGEST_OK && res->samples_stored + res->duplicates_dropped != res->samples)
		abort();
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
	lim.max_labels_per_series = 32;
	lim.max_label_name_len = 256;
	lim.max_label_value_len = 1024;
	int64_t now = 1700000000000LL;
	slod_clock clock = slod_clock_manual(&now);
	ingest_ctx *cx = ingest_ctx_new(db, &lim, &clock);
	if (!cx)
		abort();
	ingest_result res;
	ingest_ctx_remote_write(cx, "application/x-protobuf", "snappy", "0.1.0", data, size, &res);
	check(&res);
	ingest_ctx_write_request_pb(cx, data, size, &res);
	check(&res);
	bool walker_ok = !(res.outcome == INGEST_BAD_REQUEST && strncmp(res.message, "protobuf:", 9) == 0);
	SlodRwdec__WriteRequest *req = slod_rwdec__write_request__unpack(NULL, size, data);
	if (walker_ok != (req != NULL))
		abort();
	if (req && res.outcome != INGEST_TOO_LARGE) {
		uint64_t ns = 0, ne = 0, nh = 0;
		for (size_t i = 0; i < req->n_timeseries; i++) {
			ns += req->timeseries[i]->n_samples;
			ne += req->timeseries[i]->n_exemplars;
			nh += req->timeseries[i]->n_histograms;
		}
		if (res.series != req->n_timeseries || res.samples != ns || res.exemplars_ignored != ne ||
		    res.histograms_ignored != nh || res.metadata_ignored != req->n_metadata)
			abort();
	}
	if (req)
		slod_rwdec__write_request__free_unpacked(req, NULL);
	ingest_ctx_free(cx);
	tsdb_close(db);
	return 0;
}
