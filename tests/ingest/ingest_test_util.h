/*
 * ingest_test_util.h — helpers shared by the ingest tests: an in-memory tsdb, a WriteRequest
 * builder on top of the generated prompb encoder, and querier shortcuts to read back what was
 * stored.
 */
#ifndef SLOD_TESTS_INGEST_UTIL_H
#define SLOD_TESTS_INGEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/ingest.h"
#include "ingest/prompb/remote.pb-c.h"
#include "util/arena.h"
#include "util/buf.h"

/* Opens an in-memory tsdb (no WAL) with the given out-of-order window and series limit. */
tsdb *itest_open(int64_t ooo_window_ms, size_t max_series);
/* Same with a retention (samples older than newest - retention are "too old"). */
tsdb *itest_open_retention(int64_t ooo_window_ms, size_t max_series, int64_t retention_ms);

/* A WriteRequest under construction; every piece lives in the builder's arena. */
typedef struct itest_req {
	arena ar;
	Prometheus__WriteRequest req;
	Prometheus__TimeSeries *cur;
} itest_req;

void itest_req_init(itest_req *r);
void itest_req_deinit(itest_req *r);
/* Starts a series with labels given as name, value, name, value, ..., NULL. */
void itest_series(itest_req *r, ...);
/* Appends to the packed protobuf pb one more TimeSeries (hand-encoded, so names/values may hold
 * any bytes, NULs included): {__name__="raw_metric", <lname>=<lval>} with one sample. Concatenated
 * protobuf messages merge, so this adds a series to an already packed request. */
void itest_raw_series(buf *pb, const char *lname, size_t nlen, const char *lval, size_t vlen, int64_t t, double v);
void itest_sample(itest_req *r, int64_t t, double v);
void itest_exemplar(itest_req *r, int64_t t, double v);
void itest_histogram(itest_req *r, int64_t t);
void itest_metadata(itest_req *r, const char *family, const char *help);
/* Packed (uncompressed) protobuf into out. */
void itest_pack(const itest_req *r, buf *out);
/* Packed and snappy-compressed into out. */
void itest_encode(const itest_req *r, buf *out);

/* Samples of the one series whose labels equal the given set exactly (name, value, ..., NULL),
 * over all time, into out (max cap). Returns the count, or -1 if no series has exactly these labels. */
long itest_samples(tsdb *db, tsdb_sample *out, size_t cap, ...);
/* Number of series whose metric name is `name` ("" = all series). */
size_t itest_count_series(tsdb *db, const char *name);
uint64_t itest_bits(double v);
double itest_from_bits(uint64_t b);

#endif
