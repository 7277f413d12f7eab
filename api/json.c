/*
 * json.c — streaming JSON writer; see json.h.
 *
 * Invariant: depth <= API_JSON_MAX_DEPTH; bit d of has_elem tells whether level d holds an element,
 * so the next value at that level is preceded by ','. after_key suppresses the comma for the value
 * that follows a key. Once failed is set nothing more is written.
 */
#include "api/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/fmt.h"
#include "util/labels.h"

void api_json_init(api_json *j, buf *b)
{
	j->b = b;
	j->has_elem = 0;
	j->depth = 0;
	j->after_key = false;
	j->failed = false;
}

bool api_json_failed(const api_json *j)
{
	return j->failed;
}

static void put(api_json *j, const char *s, size_t n)
{
	if (!j->failed && buf_append(j->b, s, n) != 0)
		j->failed = true;
}

/* Emits the separator due before a value at the current level and marks the level non-empty. */
static bool pre_value(api_json *j)
{
	if (j->failed)
		return false;
	if (j->after_key) {
		j->after_key = false;
		return true;
	}
	uint64_t bit = 1ULL << j->depth;
	if (j->has_elem & bit)
		put(j, ",", 1);
	j->has_elem |= bit;
	return !j->failed;
}

static void begin(api_json *j, char c)
{
	if (!pre_value(j))
		return;
	if (j->depth + 1 >= API_JSON_MAX_DEPTH) {
		j->failed = true;
		return;
	}
	put(j, &c, 1);
	j->depth++;
	j->has_elem &= ~(1ULL << j->depth);
}

static void end(api_json *j, char c)
{
	if (j->failed)
		return;
	if (j->depth == 0 || j->after_key) {
		j->failed = true;
		return;
	}
	j->depth--;
	put(j, &c, 1);
}

void api_json_obj_begin(api_json *j)
{
	begin(j, '{');
}

void api_json_obj_end(api_json *j)
{
	end(j, '}');
}

void api_json_arr_begin(api_json *j)
{
	begin(j, '[');
}

void api_json_arr_end(api_json *j)
{
	end(j, ']');
}

void api_json_key(api_json *j, const char *k)
{
	if (j->after_key) {
		j->failed = true;
		return;
	}
	if (!pre_value(j))
		return;
	if (buf_json_str(j->b, k, strlen(k)) != 0 || buf_putc(j->b, ':') != 0)
		j->failed = true;
	j->after_key = true;
}

void api_json_strn(api_json *j, const char *s, size_t n)
{
	if (!pre_value(j))
		return;
	if (buf_json_str(j->b, s, n) != 0)
		j->failed = true;
}

void api_json_str(api_json *j, const char *s)
{
	if (!s) {
		api_json_null(j);
		return;
	}
	api_json_strn(j, s, strlen(s));
}

void api_json_int(api_json *j, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
	if (pre_value(j))
		put(j, tmp, (size_t)n);
}

void api_json_uint(api_json *j, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
	if (pre_value(j))
		put(j, tmp, (size_t)n);
}

void api_json_double(api_json *j, double v)
{
	if (isnan(v) || isinf(v)) {
		api_json_null(j);
		return;
	}
	char tmp[FMT_FLOAT_MAX];
	size_t n = fmt_float_prom(tmp, v);
	if (pre_value(j))
		put(j, tmp, n);
}

void api_json_bool(api_json *j, bool v)
{
	if (pre_value(j))
		put(j, v ? "true" : "false", v ? 4 : 5);
}

void api_json_null(api_json *j)
{
	if (pre_value(j))
		put(j, "null", 4);
}

void api_json_sample_value(api_json *j, double v)
{
	char tmp[FMT_FLOAT_MAX + 2];
	tmp[0] = '"';
	size_t n = fmt_float_prom(tmp + 1, v);
	tmp[n + 1] = '"';
	if (pre_value(j))
		put(j, tmp, n + 2);
}

void api_json_timestamp(api_json *j, int64_t ms)
{
	char tmp[32];
	uint64_t u = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
	int n;
	if (u % 1000)
		n = snprintf(tmp, sizeof tmp, "%s%" PRIu64 ".%03u", ms < 0 ? "-" : "", u / 1000,
			     (unsigned)(u % 1000));
	else
		n = snprintf(tmp, sizeof tmp, "%s%" PRIu64, ms < 0 ? "-" : "", u / 1000);
	if (pre_value(j))
		put(j, tmp, (size_t)n);
}

void api_json_labels(api_json *j, const slod_labels *ls)
{
	api_json_obj_begin(j);
	for (size_t i = 0; i < ls->n; i++) {
		api_json_key(j, ls->v[i].name);
		api_json_str(j, ls->v[i].value);
	}
	api_json_obj_end(j);
}

void api_json_raw(api_json *j, const char *s, size_t n)
{
	if (pre_value(j))
		put(j, s, n);
}
