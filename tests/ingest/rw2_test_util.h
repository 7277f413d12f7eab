/*
 * rw2_test_util.h — a remote-write 2.0 request builder for tests, on top of the protobuf-c encoder
 * generated from ingest/prompb/write_v2.proto: an interning symbol table (symbols[0] = ""), series
 * with label refs, samples, native histograms, exemplars and metadata, in fixed-size arrays (the
 * limits below; exceeding one fails the test). Plus hand-encoding helpers for bytes the generated
 * encoder cannot produce (embedded NULs, unpacked refs, wrong wire types).
 */
#ifndef SLOD_TESTS_RW2_TEST_UTIL_H
#define SLOD_TESTS_RW2_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/prompb/write_v2.pb-c.h"
#include "util/buf.h"

#define RW2B_SYMS 256
#define RW2B_SERIES 64
#define RW2B_REFS 80
#define RW2B_SAMPLES 16
#define RW2B_EXTRA 2 /* histograms / exemplars per series */

typedef struct rw2b {
	Io__Prometheus__Write__V2__Request req;
	char *sym[RW2B_SYMS];
	Io__Prometheus__Write__V2__TimeSeries ts[RW2B_SERIES], *tsp[RW2B_SERIES];
	uint32_t refs[RW2B_SERIES][RW2B_REFS];
	Io__Prometheus__Write__V2__Sample smp[RW2B_SERIES][RW2B_SAMPLES], *smpp[RW2B_SERIES][RW2B_SAMPLES];
	Io__Prometheus__Write__V2__Histogram h[RW2B_SERIES][RW2B_EXTRA], *hp[RW2B_SERIES][RW2B_EXTRA];
	Io__Prometheus__Write__V2__Exemplar ex[RW2B_SERIES][RW2B_EXTRA], *exp_[RW2B_SERIES][RW2B_EXTRA];
	uint32_t exrefs[RW2B_SERIES][RW2B_EXTRA][2];
	Io__Prometheus__Write__V2__Metadata md[RW2B_SERIES];
} rw2b;

/* Returns a new builder (heap; free with rw2b_free) whose symbol table is {""}. */
rw2b *rw2b_new(void);
void rw2b_free(rw2b *b);
/* Interns s (copied); returns its index. */
uint32_t rw2b_sym(rw2b *b, const char *s);
/* Starts a series with labels given as name, value, ..., NULL (interned, refs in the given order). */
void rw2b_series(rw2b *b, ...);
/* Appends one raw ref to the current series' labels_refs. */
void rw2b_ref(rw2b *b, uint32_t ref);
void rw2b_sample(rw2b *b, int64_t t, double v);
void rw2b_histogram(rw2b *b, int64_t t, uint64_t count);
/* An exemplar with one label (name NULL: none). */
void rw2b_exemplar(rw2b *b, int64_t t, double v, const char *name, const char *value);
/* Appends a raw ref to the current series' last exemplar. */
void rw2b_exemplar_ref(rw2b *b, uint32_t ref);
void rw2b_metadata(rw2b *b, int type, const char *help, const char *unit);
/* Packed protobuf (appended to out). */
void rw2b_pack(const rw2b *b, buf *out);
/* Packed and snappy-compressed (appended to out). */
void rw2b_encode(const rw2b *b, buf *out);

/* Hand-encoding: appends a varint / a tag / a length-delimited field to pb. Concatenated protobuf
 * messages merge, so appending a symbol (field 4) or a series (field 5) to a packed Request adds
 * one. */
void rw2_put_varint(buf *pb, uint64_t v);
void rw2_put_bytes(buf *pb, unsigned field, const void *p, size_t n);

#endif
