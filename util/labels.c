/*
 * labels.c — label set helpers; see labels.h for the canonical form.
 */
#include "util/labels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

void labels_sort(slod_labels *ls)
{
	for (size_t i = 1; i < ls->n; i++) {
		slod_label x = ls->v[i];
		size_t j = i;
		while (j > 0 && strcmp(ls->v[j - 1].name, x.name) > 0) {
			ls->v[j] = ls->v[j - 1];
			j--;
		}
		ls->v[j] = x;
	}
}

long labels_find_duplicate(const slod_labels *ls)
{
	for (size_t i = 1; i < ls->n; i++)
		if (strcmp(ls->v[i - 1].name, ls->v[i].name) == 0)
			return (long)i;
	return -1;
}

int labels_cmp(const slod_labels *a, const slod_labels *b)
{
	size_t n = a->n < b->n ? a->n : b->n;
	for (size_t i = 0; i < n; i++) {
		/* storage interns strings: equal ones are usually the same pointer */
		int c = a->v[i].name == b->v[i].name ? 0 : strcmp(a->v[i].name, b->v[i].name);
		if (c)
			return c;
		c = a->v[i].value == b->v[i].value ? 0 : strcmp(a->v[i].value, b->v[i].value);
		if (c)
			return c;
	}
	return (a->n > b->n) - (a->n < b->n);
}

bool labels_equal(const slod_labels *a, const slod_labels *b)
{
	return a->n == b->n && labels_cmp(a, b) == 0;
}

uint64_t labels_hash(const slod_labels *ls)
{
	/* One XXH3 call over "name 0xff value 0xff ..." in a stack buffer (about 3x faster than
	 * streaming); label sets too big for it fall back to streaming, which hashes identically. */
	unsigned char stack[2048];
	size_t len = 0;
	for (size_t i = 0; i < ls->n; i++) {
		size_t ln = strlen(ls->v[i].name), lv = strlen(ls->v[i].value);
		if (len + ln + lv + 2 > sizeof stack) {
			len = SIZE_MAX;
			break;
		}
		memcpy(stack + len, ls->v[i].name, ln);
		len += ln;
		stack[len++] = 0xff;
		memcpy(stack + len, ls->v[i].value, lv);
		len += lv;
		stack[len++] = 0xff;
	}
	if (len != SIZE_MAX)
		return XXH3_64bits(stack, len);
	XXH3_state_t st;
	static const unsigned char sep = 0xff;
	XXH3_64bits_reset(&st);
	for (size_t i = 0; i < ls->n; i++) {
		XXH3_64bits_update(&st, ls->v[i].name, strlen(ls->v[i].name));
		XXH3_64bits_update(&st, &sep, 1);
		XXH3_64bits_update(&st, ls->v[i].value, strlen(ls->v[i].value));
		XXH3_64bits_update(&st, &sep, 1);
	}
	return XXH3_64bits_digest(&st);
}

const char *labels_get(const slod_labels *ls, const char *name)
{
	for (size_t i = 0; i < ls->n; i++)
		if (strcmp(ls->v[i].name, name) == 0)
			return ls->v[i].value;
	return NULL;
}

static int put_quoted(buf *out, const char *s)
{
	if (buf_putc(out, '"'))
		return -1;
	for (; *s; s++) {
		const char *e = NULL;
		switch (*s) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\n': e = "\\n"; break;
		default: break;
		}
		if (e ? buf_puts(out, e) : buf_putc(out, *s))
			return -1;
	}
	return buf_putc(out, '"');
}

static int format_pairs(const slod_labels *ls, buf *out, bool skip_name)
{
	bool first = true;
	if (buf_putc(out, '{'))
		return -1;
	for (size_t i = 0; i < ls->n; i++) {
		if (skip_name && strcmp(ls->v[i].name, SLOD_METRIC_NAME) == 0)
			continue;
		if (!first && buf_puts(out, ", "))
			return -1;
		first = false;
		if (buf_puts(out, ls->v[i].name) || buf_putc(out, '=') || put_quoted(out, ls->v[i].value))
			return -1;
	}
	return buf_putc(out, '}');
}

int labels_format(const slod_labels *ls, buf *out)
{
	return format_pairs(ls, out, false);
}

int labels_format_metric(const slod_labels *ls, buf *out)
{
	const char *name = labels_get(ls, SLOD_METRIC_NAME);
	if (name && buf_puts(out, name))
		return -1;
	if (name && ls->n == 1)
		return 0;
	return format_pairs(ls, out, true);
}

static bool is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool labels_valid_name(const char *s, size_t n)
{
	if (n == 0 || !is_alpha_(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alpha_(s[i]) && !(s[i] >= '0' && s[i] <= '9'))
			return false;
	return true;
}

bool labels_valid_metric_name(const char *s, size_t n)
{
	if (n == 0 || !(is_alpha_(s[0]) || s[0] == ':'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alpha_(s[i]) && !(s[i] >= '0' && s[i] <= '9') && s[i] != ':')
			return false;
	return true;
}

bool slod_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len;
		unsigned min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, min = 0x10000, c &= 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

int labels_dup(slod_labels *dst, const slod_labels *src)
{
	size_t bytes = src->n * sizeof(slod_label);
	for (size_t i = 0; i < src->n; i++)
		bytes += strlen(src->v[i].name) + strlen(src->v[i].value) + 2;
	dst->n = 0;
	dst->v = malloc(bytes ? bytes : 1);
	if (!dst->v)
		return -1;
	char *p = (char *)(dst->v + src->n);
	for (size_t i = 0; i < src->n; i++) {
		size_t ln = strlen(src->v[i].name) + 1, lv = strlen(src->v[i].value) + 1;
		memcpy(p, src->v[i].name, ln);
		dst->v[i].name = p;
		p += ln;
		memcpy(p, src->v[i].value, lv);
		dst->v[i].value = p;
		p += lv;
	}
	dst->n = src->n;
	return 0;
}

void labels_free_dup(slod_labels *ls)
{
	free(ls->v);
	ls->v = NULL;
	ls->n = 0;
}
