/*
 * chunk.h — Gorilla/XOR sample chunks (internal to tsdb; bit layout in docs/format/chunk.md).
 *
 * A chunk holds up to TSDB_CHUNK_MAX_SAMPLES samples in strictly increasing time order, encoded
 * bit-compatibly with Prometheus's XOR chunk (2-byte big-endian sample count, then the bit stream).
 * Codecs never allocate: the caller hands in the byte buffer.
 */
#ifndef SLOD_TSDB_CHUNK_H
#define SLOD_TSDB_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSDB_CHUNK_TARGET_SAMPLES 120
#define TSDB_CHUNK_MAX_SAMPLES 65535
/* Worst case per sample: 4+64 bits of timestamp + 2+5+6+64 bits of value, rounded up. */
#define TSDB_CHUNK_MAX_SAMPLE_BYTES 19

/* Appender state over a caller-owned byte buffer. */
typedef struct tsdb__chunk_app {
	uint8_t *data;      /* data[0..1] = big-endian sample count */
	size_t cap;         /* bytes available in data */
	size_t nbits;       /* bits written (including the 16-bit header) */
	uint16_t count;
	int64_t t, t_delta; /* last timestamp and last delta */
	uint64_t v_bits;    /* last value bits */
	uint8_t leading, trailing; /* of the last XOR-encoded value; leading == 0xff: none yet */
} tsdb__chunk_app;

/* Starts an empty chunk in data[0..cap). cap must be >= 2. */
void tsdb__chunk_app_init(tsdb__chunk_app *a, uint8_t *data, size_t cap);
/* Resumes appending to an existing encoded chunk of len bytes (decodes it to recover state).
 * Returns 0 or -1 if the chunk is corrupt. */
int tsdb__chunk_app_resume(tsdb__chunk_app *a, uint8_t *data, size_t len, size_t cap);
/* Appends (t, v). Precondition: t > last t (the caller orders). Returns 0, or -1 if the buffer
 * lacks room (nothing written; grow the buffer, re-point a->data/a->cap, and retry) or the chunk
 * is full. */
int tsdb__chunk_app_append(tsdb__chunk_app *a, int64_t t, double v);
/* Bytes used so far (header + bit stream rounded up). */
static inline size_t tsdb__chunk_app_len(const tsdb__chunk_app *a)
{
	return (a->nbits + 7) / 8;
}

/* Iterator over an encoded chunk. */
typedef struct tsdb__chunk_it {
	const uint8_t *data;
	size_t len;        /* bytes */
	size_t pos;        /* bit position */
	uint16_t total, read;
	int64_t t, t_delta;
	uint64_t v_bits;
	uint8_t leading, trailing;
	bool err;
} tsdb__chunk_it;

void tsdb__chunk_it_init(tsdb__chunk_it *it, const uint8_t *data, size_t len);
/* Advances; returns true and sets *t, *v, or false at the end or on corruption (it->err). */
bool tsdb__chunk_it_next(tsdb__chunk_it *it, int64_t *t, double *v);
/* Sample count from the header. */
uint16_t tsdb__chunk_count(const uint8_t *data, size_t len);

#endif
