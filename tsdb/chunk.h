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

struct tsdb_sample; /* tsdb/tsdb.h */

#define TSDB_CHUNK_TARGET_SAMPLES 120
#define TSDB_CHUNK_MAX_SAMPLES 65535
/* Worst-case growth of the chunk length for one append: the second sample can take a 10-byte
 * uvarint delta plus 2+5+6+64 bits of value starting byte-aligned (157 bits -> 20 bytes); later
 * samples take at most 4+64 + 2+5+6+64 = 145 bits (19 bytes). */
#define TSDB_CHUNK_MAX_SAMPLE_BYTES 20

/* Decoder state after the first `count` samples of a chunk: what a reader needs to decode the
 * remaining samples without the ones before. The appender's own state after an append is exactly
 * this state, so it records one for free every TSDB_CHUNK_CK_EVERY samples (in memory only; the
 * encoded bytes are unaffected). Readers of an open chunk (tsdb_querier_samples) start there when
 * the range they want begins after it: a rate over the last minutes decodes at most
 * TSDB_CHUNK_CK_EVERY - 1 samples it does not need instead of up to a whole chunk. */
#define TSDB_CHUNK_CK_EVERY 16
typedef struct tsdb__chunk_ck {
	int64_t t, t_delta; /* timestamp of sample count - 1 and its delta */
	uint64_t v_bits;    /* value bits of sample count - 1 */
	uint32_t pos;       /* bit position (from data[0], header included) of sample count */
	uint16_t count;     /* samples before the checkpoint; 0 = no checkpoint, else >= 2 */
	uint8_t leading, trailing; /* XOR window in force; leading 0xff: none yet */
} tsdb__chunk_ck;

/* Appender state over a caller-owned byte buffer. */
typedef struct tsdb__chunk_app {
	uint8_t *data;      /* data[0..1] = big-endian sample count */
	size_t cap;         /* bytes available in data */
	size_t nbits;       /* bits written (including the 16-bit header) */
	uint16_t count;
	int64_t t, t_delta; /* last timestamp and last delta */
	uint64_t v_bits;    /* last value bits */
	uint8_t leading, trailing; /* of the last XOR-encoded value; leading == 0xff: none yet */
	tsdb__chunk_ck ck;         /* state after the last multiple of TSDB_CHUNK_CK_EVERY samples */
} tsdb__chunk_app;

/* Starts an empty chunk in data[0..cap): writes the 2-byte header (count 0). cap must be >= 2. */
void tsdb__chunk_app_init(tsdb__chunk_app *a, uint8_t *data, size_t cap);
/* Resumes appending to an existing encoded chunk of len bytes (decodes it to recover state, O(n)).
 * len <= cap. Appending afterwards produces the same bytes as if every sample had been appended
 * through one appender. len may include the one extra zero byte Prometheus's writer leaves after a
 * byte-aligned end; tsdb__chunk_app_len() then reports len - 1. Returns 0, or -1 if the chunk is
 * corrupt (decode error, or len is not the encoded length as above); *a is then left zeroed with
 * no buffer and must not be used. */
int tsdb__chunk_app_resume(tsdb__chunk_app *a, uint8_t *data, size_t len, size_t cap);
/* Appends (t, v). The caller keeps t strictly increasing (the codec itself round-trips any int64
 * sequence, with wrapping arithmetic). v's bits are stored exactly (NaN payloads included).
 * Returns 0, or -1 if the buffer lacks room or the chunk is full (count == TSDB_CHUNK_MAX_SAMPLES).
 * On -1 neither the buffer nor *a is modified: grow the buffer to at least
 * tsdb__chunk_app_need(a, t, v) bytes (copying data[0..len)), re-point a->data/a->cap, and retry. */
int tsdb__chunk_app_append(tsdb__chunk_app *a, int64_t t, double v);
/* Chunk length in bytes that appending (t, v) would produce; does not modify anything. */
size_t tsdb__chunk_app_need(const tsdb__chunk_app *a, int64_t t, double v);
/* True when the chunk holds TSDB_CHUNK_MAX_SAMPLES samples and cannot take another. */
static inline bool tsdb__chunk_app_full(const tsdb__chunk_app *a)
{
	return a->count >= TSDB_CHUNK_MAX_SAMPLES;
}
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
	/* bit reader carried between calls (tsdb/chunk.c); pos == rd_i * 8 - rd_cnt */
	uint64_t rd_acc;
	ptrdiff_t rd_i;
	unsigned rd_cnt;
} tsdb__chunk_it;

/* Starts iterating data[0..len) (borrowed; must outlive the iterator). Never reads outside it.
 * len < 2 is corrupt: the first next() then returns false with it->err set. */
void tsdb__chunk_it_init(tsdb__chunk_it *it, const uint8_t *data, size_t len);
/* Advances; returns true and sets *t, *v (bit-exact), or false at the end or on corruption
 * (it->err set: a field runs past len, an overlong varint, an impossible XOR window). Once false,
 * it stays false. */
bool tsdb__chunk_it_next(tsdb__chunk_it *it, int64_t *t, double *v);
/* Decodes the samples of data[0..len) (borrowed) with mint <= t <= maxt straight into out, which
 * must have room for tsdb__chunk_count(data, len) samples; stops at the first t > maxt. Never reads
 * outside data[0..len). Returns the number of samples stored; *err is set to true when the chunk is
 * corrupt (as for the iterator), false otherwise. The samples before the corruption are stored and
 * counted exactly as tsdb__chunk_it_next() would have returned them. Cost: ~2-3 ns per sample
 * decoded (samples before mint are decoded too; the format has no skip index). */
size_t tsdb__chunk_decode(const uint8_t *data, size_t len, int64_t mint, int64_t maxt,
			  struct tsdb_sample *out, bool *err);
/* Like tsdb__chunk_decode, for the samples after checkpoint ck of a chunk of `total` samples
 * (total from the header, ck->count <= total) given only the chunk's bytes from byte ck->pos / 8
 * on: tail[0..tail_len) (borrowed). out needs room for total - ck->count samples. A checkpoint
 * with count 0 is invalid (*err set, returns 0). */
size_t tsdb__chunk_decode_ck(const uint8_t *tail, size_t tail_len, const tsdb__chunk_ck *ck, unsigned total,
			     int64_t mint, int64_t maxt, struct tsdb_sample *out, bool *err);
/* Sample count from the header; 0 if len < 2. */
uint16_t tsdb__chunk_count(const uint8_t *data, size_t len);

#endif
