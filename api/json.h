/*
 * json.h — a streaming JSON writer on util/buf.h for API responses.
 *
 * The writer appends straight into a caller-owned buf; it keeps only a small nesting stack (one
 * "has a previous element" bit per level, at most API_JSON_MAX_DEPTH levels) so commas are placed
 * automatically: callers emit begin/key/value/end calls in document order and never write ','.
 * Errors are sticky: after an allocation failure, a buf over its maximum or a nesting error every
 * later call is a no-op and api_json_failed() returns true, so a handler checks once at the end.
 * Cost: O(bytes written); no allocation except growing the buf.
 */
#ifndef SLOD_API_JSON_H
#define SLOD_API_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define API_JSON_MAX_DEPTH 64

typedef struct api_json {
	buf *b;                /* borrowed; must outlive the writer */
	uint64_t has_elem;     /* bit d set: level d already holds an element (a comma is due) */
	unsigned depth;        /* current nesting level, 0 = top */
	bool after_key;        /* a key was written; the next value needs no comma */
	bool failed;
} api_json;

/* Starts writing at the end of b (b keeps what it holds). */
void api_json_init(api_json *j, buf *b);
bool api_json_failed(const api_json *j);

/* Open/close an object or array. Opening past API_JSON_MAX_DEPTH, closing at depth 0 or right
 * after a key sets the sticky failure (see api_json_failed); nothing is written then. */
void api_json_obj_begin(api_json *j);
void api_json_obj_end(api_json *j);
void api_json_arr_begin(api_json *j);
void api_json_arr_end(api_json *j);
/* Object key; must be followed by exactly one value (or begin). */
void api_json_key(api_json *j, const char *k);
void api_json_str(api_json *j, const char *s);          /* NULL writes null */
void api_json_strn(api_json *j, const char *s, size_t n);
void api_json_int(api_json *j, int64_t v);
void api_json_uint(api_json *j, uint64_t v);
/* A JSON number with Go's shortest formatting; NaN and ±Inf (not representable) write null. */
void api_json_double(api_json *j, double v);
void api_json_bool(api_json *j, bool v);
void api_json_null(api_json *j);
/* Prometheus's sample value: a string, "NaN", "+Inf", "-Inf" or fmt_float_prom digits. */
void api_json_sample_value(api_json *j, double v);
/* Prometheus's timestamp: milliseconds as seconds with a 3-digit fraction when non-zero
 * (1500 -> 1.500, 2000 -> 2, -1 -> -0.001), written as a bare number. */
void api_json_timestamp(api_json *j, int64_t ms);
/* A label set as an object {"name":"value",...} in the set's order. */
struct slod_labels;
void api_json_labels(api_json *j, const struct slod_labels *ls);
/* Appends pre-formatted JSON text as one value. */
void api_json_raw(api_json *j, const char *s, size_t n);

#endif
