/*
 * select.c — helpers shared by the metadata routes (series, labels, label values, export):
 * match[] parsing into matcher sets, Prometheus's default time range and limit parameter, and the
 * union of series selected by several matcher sets.
 *
 * Matcher sets, their strings and compiled regexes live in the request arena. The union is built by
 * concatenating each set's (sorted) result and sorting by labels; equal label sets are the same
 * series, so adjacent duplicates are dropped. Cost: O(S log S) for S selected series.
 */
#include "api/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql.h"

bool api__matcher_matches_empty(const tsdb_matcher *m)
{
	switch (m->type) {
	case TSDB_MATCH_EQ: return m->value[0] == '\0';
	case TSDB_MATCH_NEQ: return m->value[0] != '\0';
	case TSDB_MATCH_RE: return m->re_match(m->re, "", 0);
	case TSDB_MATCH_NRE: return !m->re_match(m->re, "", 0);
	}
	return false;
}

int api__parse_match_sets(api_req *r, bool required, api_match_set **out, size_t *n)
{
	const char **vals;
	size_t nv = api__param_all(r, "match[]", &vals);
	*out = NULL;
	*n = 0;
	if (nv == 0) {
		if (required) {
			api__reply_error(r, API_ERR_BAD_DATA, "no match[] parameter provided");
			return -1;
		}
		return 0;
	}
	api_match_set *sets = arena_calloc(&r->arena, nv, sizeof *sets);
	if (!sets) {
		api__reply_error(r, API_ERR_INTERNAL, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < nv; i++) {
		promql_error pe;
		int rc = promql_parse_selector(vals[i], strlen(vals[i]), &r->arena, &sets[i].m, &sets[i].n, &pe);
		if (rc == PROMQL_ERR_NOMEM) {
			api__reply_error(r, API_ERR_INTERNAL, "out of memory");
			return -1;
		}
		if (rc != 0) {
			api__reply_error(r, API_ERR_BAD_DATA, "invalid parameter \"match[]\": %s", pe.text);
			return -1;
		}
		bool all_empty = true;
		for (size_t k = 0; k < sets[i].n; k++)
			if (!api__matcher_matches_empty(&sets[i].m[k]))
				all_empty = false;
		if (all_empty) {
			api__reply_error(r, API_ERR_BAD_DATA,
					 "invalid parameter \"match[]\": match[] must contain at least one non-empty matcher");
			return -1;
		}
	}
	*out = sets;
	*n = nv;
	return 0;
}

int api__parse_range(api_req *r, int64_t *start, int64_t *end)
{
	if (api__param_time(r, "start", API_MIN_TIME_MS, start) != 0)
		return -1;
	if (api__param_time(r, "end", API_MAX_TIME_MS, end) != 0)
		return -1;
	return 0;
}

int api__parse_limit(api_req *r, size_t *limit)
{
	const char *s = api__param(r, "limit");
	*limit = 0;
	if (!s || !*s)
		return 0;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || errno) {
		api__reply_error(r, API_ERR_BAD_DATA, "invalid parameter \"limit\": cannot parse \"%s\" to a valid integer",
				 s);
		return -1;
	}
	if (v < 0) {
		api__reply_error(r, API_ERR_BAD_DATA, "limit must be non-negative");
		return -1;
	}
	*limit = (size_t)v;
	return 0;
}

static int cmp_series(const void *a, const void *b)
{
	const tsdb_series *x = a, *y = b;
	return labels_cmp(x->labels, y->labels);
}

int api__select_union(api_req *r, tsdb_querier *q, const api_match_set *sets, size_t nsets, tsdb_series **out,
		      size_t *n)
{
	*out = NULL;
	*n = 0;
	if (nsets == 1)
		return tsdb_querier_select(q, sets[0].m, sets[0].n, out, n);
	tsdb_series **parts = arena_calloc(&r->arena, nsets, sizeof *parts);
	size_t *counts = arena_calloc(&r->arena, nsets, sizeof *counts);
	if (!parts || !counts)
		return TSDB_ERR_NOMEM;
	size_t total = 0;
	for (size_t i = 0; i < nsets; i++) {
		int rc = tsdb_querier_select(q, sets[i].m, sets[i].n, &parts[i], &counts[i]);
		if (rc != 0)
			return rc;
		total += counts[i];
	}
	tsdb_series *all = arena_alloc(&r->arena, (total ? total : 1) * sizeof *all);
	if (!all)
		return TSDB_ERR_NOMEM;
	size_t k = 0;
	for (size_t i = 0; i < nsets; i++) {
		if (counts[i])
			memcpy(all + k, parts[i], counts[i] * sizeof *all);
		k += counts[i];
	}
	qsort(all, total, sizeof *all, cmp_series);
	size_t u = 0;
	for (size_t i = 0; i < total; i++)
		if (u == 0 || all[u - 1].ref != all[i].ref)
			all[u++] = all[i];
	*out = all;
	*n = u;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int api__strings_union(api_req *r, const char ***parts, const size_t *counts, size_t nparts, const char ***out,
		       size_t *n)
{
	size_t total = 0;
	for (size_t i = 0; i < nparts; i++)
		total += counts[i];
	const char **all = arena_alloc(&r->arena, (total ? total : 1) * sizeof *all);
	if (!all)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < nparts; i++)
		for (size_t j = 0; j < counts[i]; j++)
			all[k++] = parts[i][j];
	qsort(all, total, sizeof *all, cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < total; i++)
		if (u == 0 || strcmp(all[u - 1], all[i]) != 0)
			all[u++] = all[i];
	*out = all;
	*n = u;
	return 0;
}

tsdb_querier *api__select_open(api_req *r, const api_match_set *sets, size_t nsets, int64_t mint, int64_t maxt,
			       tsdb_series **out, size_t *n)
{
	tsdb_querier *q = tsdb_querier_open(r->be->db, mint, maxt);
	if (!q) {
		api__reply_error(r, API_ERR_INTERNAL, "cannot open querier");
		return NULL;
	}
	if (api__select_union(r, q, sets, nsets, out, n) != 0) {
		api__reply_error(r, API_ERR_EXECUTION, "series selection failed");
		tsdb_querier_close(q);
		return NULL;
	}
	return q;
}
