/*
 * fuzz_text.c — libFuzzer target for the text exposition format parser: each input is one body
 * imported into a fresh in-memory tsdb with small limits. Checks that syntax errors carry a
 * "line L:C:" position and that results are consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	ingest_ctx_text(cx, data, size, now - 1000, &res);
	if (strchr(res.message, '\n') || res.samples_stored > res.samples)
		abort();
	if (res.outcome == INGEST_BAD_REQUEST && res.samples == 0 && res.rejected_series == 0 &&
	    strncmp(res.message, "line ", 5) != 0)
		abort();
	if (res.outcome == INGEST_OK && (res.message[0] || res.samples_stored + res.duplicates_dropped != res.samples))
		abort();
	ingest_ctx_free(cx);
	tsdb_close(db);
	return 0;
}
