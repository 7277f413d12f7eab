/*
 * chunk.c — Gorilla/XOR sample chunk codec, bit-compatible with Prometheus's XOR chunk.
 * Full format, bucket ranges and a byte-level worked example: docs/format/chunk.md.
 *
 * Layout (one bit stream after a byte header; fields MSB first):
 *
 *   [count u16 BE][t0 varint (zig-zag LEB128)][v0 64 raw bits]
 *   [t1-t0 uvarint][v1 xor]
 *   { [dod: '0' | '10'+14b | '110'+17b | '1110'+20b | '1111'+64b] [v xor] }*   [0-7 zero pad bits]
 *
 *   v xor, x = bits(v) ^ bits(prev):  '0' (x == 0)
 *                                     '10' + (64-L-T) bits of x>>T  (x fits the current window)
 *                                     '11' + 5b L' + 6b M (64 -> 0) + M bits of x>>T'  (new window)
 *   e.g. (1000,1.0) (16000,2.0) (31005,3.0) ->
 *   00 03 | D0 0F | 3F F0 00 00 00 00 00 00 | 98 75 | C2 5F FF | 80 05 | D8 0C
 *
 * Invariants:
 *   - appender: data[0..1] holds a->count; a->nbits is the exact end of the last sample; bits of
 *     the last byte past a->nbits are zero (the writer clears them, so resuming on a chunk with
 *     stray pad bits is still correct); a->leading == 0xff until the first '11' window is written.
 *   - resume accepts one extra trailing zero byte after a byte-aligned end (Prometheus's writer
 *     leaves one there); the appender then drops it: tsdb__chunk_app_len() is the minimal length.
 *   - an append either writes the whole sample and bumps the count, or (no room / full) touches
 *     nothing: its exact bit cost is computed first (sample_plan) and checked against cap.
 *   - iterator: it->pos is a bit offset from data[0] (header included), pos <= len * 8 always; no
 *     byte at or beyond data[len] is ever loaded. Once it->err is set, next() returns false.
 *
 * Costs: append O(1) (a few byte stores); resume O(n) (one decode); next O(1), typically 2-4
 * unaligned 64-bit big-endian loads per sample (byte-wise only within 8 bytes of the end).
 */
#include "tsdb/chunk.h"

#include <string.h>

#define NO_WINDOW 0xff

/* ---- small bit helpers ---- */

static inline uint64_t dbits(double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	return u;
}

static inline double bitsd(uint64_t u)
{
	double v;
	memcpy(&v, &u, sizeof v);
	return v;
}

/* -(2^(n-1) - 1) <= x <= 2^(n-1): Prometheus's bitRange. */
static inline bool dod_fits(int64_t x, unsigned n)
{
	int64_t hi = (int64_t)1 << (n - 1);
	return x >= -(hi - 1) && x <= hi;
}

static inline unsigned uvarint_len(uint64_t u)
{
	unsigned n = 1;
	while (u >= 0x80) {
		u >>= 7;
		n++;
	}
	return n;
}

static inline uint64_t zigzag(int64_t t)
{
	return ((uint64_t)t << 1) ^ (uint64_t)(t >> 63);
}

/* ---- appender ---- */

/* What one append writes, computed without touching the buffer. */
typedef struct sample_plan {
	size_t bits;          /* total bits of the sample */
	uint64_t tdelta;      /* new t - last t (mod 2^64) */
	uint64_t x;           /* value xor */
	unsigned dod_prefix, dod_prefix_bits, dod_bits;
	uint64_t dod;
	bool new_window;      /* '11' form */
	uint8_t lead, trail;  /* window used for the value */
} sample_plan;

/* Plans the value part for xor x given the current window; returns its bits. */
static size_t plan_value(const tsdb__chunk_app *a, uint64_t x, sample_plan *p)
{
	if (x == 0)
		return 1;
	unsigned lead = (unsigned)__builtin_clzll(x);
	unsigned trail = (unsigned)__builtin_ctzll(x);
	if (lead > 31)
		lead = 31;
	if (a->leading != NO_WINDOW && lead >= a->leading && trail >= a->trailing) {
		p->new_window = false;
		p->lead = a->leading;
		p->trail = a->trailing;
		return 2 + (64 - (size_t)a->leading - a->trailing);
	}
	p->new_window = true;
	p->lead = (uint8_t)lead;
	p->trail = (uint8_t)trail;
	return 2 + 5 + 6 + (64 - (size_t)lead - trail);
}

static void sample_plan_make(const tsdb__chunk_app *a, int64_t t, double v, sample_plan *p)
{
	memset(p, 0, sizeof(*p));
	uint64_t vb = dbits(v);
	if (a->count == 0) {
		p->bits = (size_t)uvarint_len(zigzag(t)) * 8 + 64;
		return;
	}
	p->tdelta = (uint64_t)t - (uint64_t)a->t;
	p->x = vb ^ a->v_bits;
	if (a->count == 1) {
		p->bits = (size_t)uvarint_len(p->tdelta) * 8 + plan_value(a, p->x, p);
		return;
	}
	int64_t dod = (int64_t)(p->tdelta - (uint64_t)a->t_delta);
	p->dod = (uint64_t)dod;
	if (dod == 0) {
		p->dod_prefix = 0, p->dod_prefix_bits = 1, p->dod_bits = 0;
	} else if (dod_fits(dod, 14)) {
		p->dod_prefix = 0x2, p->dod_prefix_bits = 2, p->dod_bits = 14;
	} else if (dod_fits(dod, 17)) {
		p->dod_prefix = 0x6, p->dod_prefix_bits = 3, p->dod_bits = 17;
	} else if (dod_fits(dod, 20)) {
		p->dod_prefix = 0xe, p->dod_prefix_bits = 4, p->dod_bits = 20;
	} else {
		p->dod_prefix = 0xf, p->dod_prefix_bits = 4, p->dod_bits = 64;
	}
	p->bits = p->dod_prefix_bits + p->dod_bits + plan_value(a, p->x, p);
}

/* Writes the n (0..64) low bits of u at bit *pos, MSB first; clears the rest of the last byte. */
static void put_bits(uint8_t *d, size_t *pos, uint64_t u, unsigned n)
{
	while (n > 0) {
		size_t i = *pos >> 3;
		unsigned off = (unsigned)(*pos & 7), room = 8 - off;
		unsigned take = n < room ? n : room;
		unsigned chunk = (unsigned)((u >> (n - take)) & ((1u << take) - 1));
		unsigned keep = off ? (d[i] & (0xffu << (8 - off)) & 0xffu) : 0;
		d[i] = (uint8_t)(keep | (chunk << (room - take)));
		*pos += take;
		n -= take;
	}
}

static void put_uvarint(uint8_t *d, size_t *pos, uint64_t u)
{
	while (u >= 0x80) {
		put_bits(d, pos, (u & 0x7f) | 0x80, 8);
		u >>= 7;
	}
	put_bits(d, pos, u, 8);
}

static void put_value(tsdb__chunk_app *a, size_t *pos, const sample_plan *p)
{
	if (p->x == 0) {
		put_bits(a->data, pos, 0, 1);
		return;
	}
	unsigned sig = 64 - (unsigned)p->lead - p->trail;
	if (p->new_window) {
		put_bits(a->data, pos, 0x3, 2);
		put_bits(a->data, pos, p->lead, 5);
		put_bits(a->data, pos, sig & 63, 6);
		a->leading = p->lead;
		a->trailing = p->trail;
	} else {
		put_bits(a->data, pos, 0x2, 2);
	}
	put_bits(a->data, pos, p->x >> p->trail, sig);
}

void tsdb__chunk_app_init(tsdb__chunk_app *a, uint8_t *data, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->data = data;
	a->cap = cap;
	a->nbits = 16;
	a->leading = NO_WINDOW;
	data[0] = 0;
	data[1] = 0;
}

size_t tsdb__chunk_app_need(const tsdb__chunk_app *a, int64_t t, double v)
{
	sample_plan p;
	sample_plan_make(a, t, v, &p);
	return (a->nbits + p.bits + 7) / 8;
}

int tsdb__chunk_app_append(tsdb__chunk_app *a, int64_t t, double v)
{
	if (a->count >= TSDB_CHUNK_MAX_SAMPLES)
		return -1;
	sample_plan p;
	sample_plan_make(a, t, v, &p);
	if (a->nbits + p.bits > a->cap * 8)
		return -1;

	size_t pos = a->nbits;
	if (a->count == 0) {
		put_uvarint(a->data, &pos, zigzag(t));
		put_bits(a->data, &pos, dbits(v), 64);
	} else if (a->count == 1) {
		put_uvarint(a->data, &pos, p.tdelta);
		put_value(a, &pos, &p);
	} else {
		put_bits(a->data, &pos, p.dod_prefix, p.dod_prefix_bits);
		if (p.dod_bits)
			put_bits(a->data, &pos, p.dod_bits == 64 ? p.dod : p.dod & ((1ull << p.dod_bits) - 1),
				 p.dod_bits);
		put_value(a, &pos, &p);
	}
	a->nbits = pos;
	if (a->count > 0)
		a->t_delta = (int64_t)p.tdelta;
	a->t = t;
	a->v_bits = dbits(v);
	a->count++;
	a->data[0] = (uint8_t)(a->count >> 8);
	a->data[1] = (uint8_t)a->count;
	return 0;
}

int tsdb__chunk_app_resume(tsdb__chunk_app *a, uint8_t *data, size_t len, size_t cap)
{
	tsdb__chunk_it it;
	int64_t t;
	double v;

	memset(a, 0, sizeof(*a));
	if (len < 2 || len > cap)
		return -1;
	tsdb__chunk_it_init(&it, data, len);
	while (tsdb__chunk_it_next(&it, &t, &v))
		;
	if (it.err)
		return -1;
	/* Exact length, or Prometheus's form: its bit writer leaves one extra zero byte when the
	 * stream ends byte-aligned after a whole-byte write (e.g. every 1-sample chunk). */
	size_t used = (it.pos + 7) / 8;
	if (len != used && !(len == used + 1 && it.pos % 8 == 0 && data[len - 1] == 0))
		return -1;
	a->data = data;
	a->cap = cap;
	a->nbits = it.pos;
	a->count = it.total;
	a->t = it.t;
	a->t_delta = it.t_delta;
	a->v_bits = it.v_bits;
	a->leading = it.leading;
	a->trailing = it.trailing;
	return 0;
}

/* ---- iterator ---- */

static inline uint64_t load_be64(const uint8_t *p)
{
	uint64_t x;
	memcpy(&x, p, sizeof x);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

/* Up to 64 bits starting at bit pos, left-aligned; at least 57 of them are real (bits at or
 * past len read as 0). Never loads data[len] or beyond. */
static inline uint64_t peek(const uint8_t *d, size_t len, size_t pos)
{
	size_t i = pos >> 3;
	uint64_t w;
	if (i + 8 <= len) {
		w = load_be64(d + i);
	} else {
		w = 0;
		for (unsigned k = 0; k < 8 && i + k < len; k++)
			w |= (uint64_t)d[i + k] << (56 - 8 * k);
	}
	return w << (pos & 7);
}

/* n (1..64) bits at pos as a number. The caller has checked pos + n <= len * 8. */
static inline uint64_t get_bits(const uint8_t *d, size_t len, size_t pos, unsigned n)
{
	if (n <= 56)
		return peek(d, len, pos) >> (64 - n);
	uint64_t hi = peek(d, len, pos) >> 32;
	return (hi << (n - 32)) | (peek(d, len, pos + 32) >> (64 - (n - 32)));
}

void tsdb__chunk_it_init(tsdb__chunk_it *it, const uint8_t *data, size_t len)
{
	memset(it, 0, sizeof(*it));
	it->data = data;
	it->len = len;
	it->leading = NO_WINDOW;
	if (len < 2) {
		it->err = true;
		return;
	}
	it->total = (uint16_t)((data[0] << 8) | data[1]);
	it->pos = 16;
}

uint16_t tsdb__chunk_count(const uint8_t *data, size_t len)
{
	if (len < 2)
		return 0;
	return (uint16_t)((data[0] << 8) | data[1]);
}

/* Reads a LEB128 uvarint at the (byte-aligned) position; Go's overflow rule. */
static bool read_uvarint(tsdb__chunk_it *it, uint64_t *out)
{
	uint64_t u = 0;
	size_t i = it->pos >> 3;
	for (unsigned k = 0; k < 10; k++, i++) {
		if (i >= it->len)
			return false;
		uint8_t b = it->data[i];
		if (k == 9 && b > 1)
			return false;
		u |= (uint64_t)(b & 0x7f) << (7 * k);
		if (b < 0x80) {
			it->pos = (i + 1) * 8;
			*out = u;
			return true;
		}
	}
	return false;
}

static bool read_value(tsdb__chunk_it *it)
{
	const uint8_t *d = it->data;
	size_t len = it->len, limit = len * 8, pos = it->pos;
	if (pos + 1 > limit)
		return false;
	uint64_t w = peek(d, len, pos);
	if (!(w >> 63)) {
		it->pos = pos + 1;
		return true;
	}
	unsigned lead, trail, sig;
	if (!((w >> 62) & 1)) {
		/* '10': reuse the window; none yet means (0, 0) as in Prometheus. */
		if (it->leading == NO_WINDOW)
			it->leading = 0, it->trailing = 0;
		lead = it->leading;
		trail = it->trailing;
		sig = 64 - lead - trail;
		pos += 2;
	} else {
		if (pos + 13 > limit)
			return false;
		lead = (unsigned)((w >> 57) & 31);
		sig = (unsigned)((w >> 51) & 63);
		if (sig == 0)
			sig = 64;
		if (lead + sig > 64)
			return false;
		trail = 64 - lead - sig;
		pos += 13;
	}
	if (pos + sig > limit)
		return false;
	it->leading = (uint8_t)lead;
	it->trailing = (uint8_t)trail;
	it->v_bits ^= get_bits(d, len, pos, sig) << trail;
	it->pos = pos + sig;
	return true;
}

bool tsdb__chunk_it_next(tsdb__chunk_it *it, int64_t *t, double *v)
{
	if (it->err || it->read >= it->total)
		return false;

	if (it->read == 0) {
		uint64_t zz;
		if (!read_uvarint(it, &zz) || it->pos + 64 > it->len * 8)
			goto corrupt;
		it->t = (int64_t)((zz >> 1) ^ (0 - (zz & 1)));
		it->v_bits = get_bits(it->data, it->len, it->pos, 64);
		it->pos += 64;
	} else if (it->read == 1) {
		uint64_t delta;
		if (!read_uvarint(it, &delta))
			goto corrupt;
		it->t_delta = (int64_t)delta;
		it->t = (int64_t)((uint64_t)it->t + delta);
		if (!read_value(it))
			goto corrupt;
	} else {
		const uint8_t *d = it->data;
		size_t len = it->len, limit = len * 8, pos = it->pos;
		if (pos + 1 > limit)
			goto corrupt;
		uint64_t w = peek(d, len, pos);
		uint64_t dod;
		if (!(w >> 63)) {
			dod = 0;
			pos += 1;
		} else {
			unsigned ones = (unsigned)__builtin_clzll(~w | 0x0fffffffffffffffull);
			unsigned n;
			switch (ones) {
			case 1:
				n = 14;
				break;
			case 2:
				n = 17;
				break;
			case 3:
				n = 20;
				break;
			default:
				n = 64;
				break;
			}
			unsigned pre = ones == 4 ? 4 : ones + 1;
			if (pos + pre + n > limit)
				goto corrupt;
			if (n == 64) {
				dod = get_bits(d, len, pos + 4, 64);
			} else {
				dod = (w << pre) >> (64 - n);
				if (dod > (1ull << (n - 1)))
					dod -= 1ull << n;
			}
			pos += pre + n;
		}
		it->pos = pos;
		it->t_delta = (int64_t)((uint64_t)it->t_delta + dod);
		it->t = (int64_t)((uint64_t)it->t + (uint64_t)it->t_delta);
		if (!read_value(it))
			goto corrupt;
	}
	it->read++;
	*t = it->t;
	*v = bitsd(it->v_bits);
	return true;

corrupt:
	it->err = true;
	return false;
}
