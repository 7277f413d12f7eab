/*
 * fuzz_remote_write.c — libFuzzer target for the remote-write decoder. Each input is fed twice
 * into a fresh in-memory tsdb: as a snappy-compressed body through ingest_ctx_remote_write() and
 * as an uncompressed WriteRequest through ingest_ctx_write_request_pb(). Small limits keep memory
 * bounded (decode arena 8 MiB, 512 KiB decompressed). Checks result invariants: a one-line
 * message, counters consistent with the outcome.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

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
	o.max_series = 5000;
	tsdb *db = NULL;
	char err[128];
	if (tsdb_open(&o, &db, err, sizeof err) != 0)
		abort();
	ingest_limits lim;
	ingest_limits_default(&lim);
	lim.max_body_bytes = 256 * 1024;
	lim.max_decompressed_bytes = 512 * 1024;
	lim.max_decode_bytes = 8u << 20;
	lim.max_series = 2000;
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
	ingest_ctx_free(cx);
	tsdb_close(db);
	return 0;
}
