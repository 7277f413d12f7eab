/*
 * params.c — request parameters: URL decoding, form-encoded bodies, route pattern matching,
 * listen-address splitting and API time parameters.
 *
 * Parameters live in r->params, a growable array in the request arena, in arrival order (URL query
 * first, then a form body), so repeated names such as match[] keep their order. Lookups are linear:
 * requests carry a handful of parameters. Every string is a NUL-terminated arena copy.
 */
#include "api/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fmt.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long api__url_decode(const char *s, size_t n, char *out, bool plus_is_space)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			out[o++] = ' ';
		} else {
			out[o++] = c;
		}
	}
	out[o] = '\0';
	return (long)o;
}

int api__param_add(api_req *r, const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (r->n_params == r->cap_params) {
		size_t cap = r->cap_params ? r->cap_params * 2 : 16;
		api_param *p = arena_alloc(&r->arena, cap * sizeof *p);
		if (!p)
			return -1;
		if (r->n_params)
			memcpy(p, r->params, r->n_params * sizeof *p);
		r->params = p;
		r->cap_params = cap;
	}
	char *n = arena_strndup(&r->arena, name, nlen);
	char *v = arena_strndup(&r->arena, value, vlen);
	if (!n || !v)
		return -1;
	r->params[r->n_params].name = n;
	r->params[r->n_params].value = v;
	r->n_params++;
	/* values are used as C strings: a NUL would silently cut them (api__dispatch answers 400) */
	if (!r->nul_param && (memchr(name, '\0', nlen) || memchr(value, '\0', vlen)))
		r->nul_param = n;
	return 0;
}

int api__form_parse(api_req *r, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t end = i;
		while (end < n && s[end] != '&')
			end++;
		if (end > i) {
			const char *eq = memchr(s + i, '=', end - i);
			size_t klen = eq ? (size_t)(eq - (s + i)) : end - i;
			const char *v = eq ? eq + 1 : s + end;
			size_t vlen = eq ? (size_t)((s + end) - v) : 0;
			char *kd = arena_alloc(&r->arena, klen + 1);
			char *vd = arena_alloc(&r->arena, vlen + 1);
			if (!kd || !vd)
				return -1;
			long kl = api__url_decode(s + i, klen, kd, true);
			long vl = api__url_decode(v, vlen, vd, true);
			if (kl < 0 || vl < 0)
				return -1;
			if (api__param_add(r, kd, (size_t)kl, vd, (size_t)vl) != 0)
				return -1;
		}
		i = end + 1;
	}
	return 0;
}

const char *api__param(api_req *r, const char *name)
{
	for (size_t i = 0; i < r->n_params; i++)
		if (strcmp(r->params[i].name, name) == 0)
			return r->params[i].value;
	return NULL;
}

size_t api__param_all(api_req *r, const char *name, const char ***out)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_params; i++)
		if (strcmp(r->params[i].name, name) == 0)
			n++;
	*out = NULL;
	if (n == 0)
		return 0;
	const char **v = arena_alloc(&r->arena, n * sizeof *v);
	if (!v)
		return 0;
	size_t k = 0;
	for (size_t i = 0; i < r->n_params; i++)
		if (strcmp(r->params[i].name, name) == 0)
			v[k++] = r->params[i].value;
	*out = v;
	return n;
}

bool api__route_match(const char *pattern, const char *path, arena *a, const char **params, size_t *nparams)
{
	const char *p = pattern, *s = path;
	size_t np = 0;
	while (*p) {
		if (*p == '*' && p[1] == '\0')
			goto matched;
		if (*p == ':') {
			const char *seg = s;
			while (*s && *s != '/')
				s++;
			if (s == seg || np == API_MAX_PATH_PARAMS)
				return false;
			if (params) {
				char *v = a ? arena_strndup(a, seg, (size_t)(s - seg)) : NULL;
				if (!v)
					return false;
				params[np] = v;
			}
			np++;
			while (*p && *p != '/')
				p++;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	if (*s != '\0')
		return false;
matched:
	if (nparams)
		*nparams = np;
	return true;
}

int api__split_hostport(const char *addr, char *host, size_t hostcap, uint16_t *port)
{
	const char *colon;
	const char *h = addr;
	size_t hlen;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':')
			return -1;
		h = addr + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return -1;
		hlen = (size_t)(colon - addr);
		if (memchr(addr, ':', hlen))
			return -1; /* bare IPv6 needs brackets */
	}
	if (hlen + 1 > hostcap)
		return -1;
	const char *ps = colon + 1;
	if (!*ps)
		return -1;
	unsigned long v = 0;
	for (const char *q = ps; *q; q++) {
		if (*q < '0' || *q > '9')
			return -1;
		v = v * 10 + (unsigned long)(*q - '0');
		if (v > 65535)
			return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (uint16_t)v;
	return 0;
}

int api__param_time(api_req *r, const char *name, int64_t def, int64_t *out)
{
	const char *v = api__param(r, name);
	if (!v || !*v) {
		*out = def;
		return 0;
	}
	if (slod_parse_time_ms(v, out) != 0) {
		api__reply_error(r, API_ERR_BAD_DATA,
				 "invalid parameter \"%s\": Invalid time value for '%s': cannot parse \"%s\" to a valid timestamp",
				 name, name, v);
		return -1;
	}
	return 0;
}
