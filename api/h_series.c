/*
 * h_series.c — the metadata routes Grafana's label browser and `promtool query series|labels` use:
 *   GET|POST /api/v1/series?match[]=...&start=&end=&limit=   → [{"__name__":"up","job":"x"}, ...]
 *   GET|POST /api/v1/labels[?match[]=...]&start=&end=&limit= → ["__name__","job", ...]
 *   GET      /api/v1/label/<name>/values[?match[]=...]       → ["a","b", ...]
 * Semantics follow Prometheus's web/api/v1: match[] is required for series and optional
 * otherwise; several match[] are a union; start/end default to the whole time range; results are
 * sorted; a positive limit truncates and adds the warning "results truncated due to limit"; empty
 * results are [] (never null). Every request opens one querier over [start, end].
 */
#include "api/internal.h"

#include <string.h>

#include "tsdb/tsdb.h"
#include "util/labels.h"

static const char *const truncated_warning[] = {"results truncated due to limit"};

static void reply_strings(api_req *r, const char *const *v, size_t n, size_t limit)
{
	size_t shown = (limit && n > limit) ? limit : n;
	api_json j;
	api__reply_json_begin(r, &j);
	api_json_arr_begin(&j);
	for (size_t i = 0; i < shown; i++)
		api_json_str(&j, v[i]);
	api_json_arr_end(&j);
	api__reply_json_end(r, &j, truncated_warning, shown < n ? 1 : 0);
}

static tsdb_querier *open_querier(api_req *r, int64_t start, int64_t end)
{
	tsdb_querier *q = tsdb_querier_open(r->be->db, start, end);
	if (!q)
		api__reply_error(r, API_ERR_INTERNAL, "cannot open querier");
	return q;
}

void api__h_series(api_req *r)
{
	api_match_set *sets;
	size_t nsets, limit;
	int64_t start, end;
	if (api__parse_match_sets(r, true, &sets, &nsets) != 0 || api__parse_range(r, &start, &end) != 0 ||
	    api__parse_limit(r, &limit) != 0)
		return;
	tsdb_series *s;
	size_t n;
	tsdb_querier *q = api__select_open(r, sets, nsets, start, end, &s, &n);
	if (!q)
		return;
	size_t shown = (limit && n > limit) ? limit : n;
	api_json j;
	api__reply_json_begin(r, &j);
	api_json_arr_begin(&j);
	for (size_t i = 0; i < shown; i++)
		api_json_labels(&j, s[i].labels);
	api_json_arr_end(&j);
	api__reply_json_end(r, &j, truncated_warning, shown < n ? 1 : 0);
	tsdb_querier_close(q);
}

/* Collects label names (name == NULL) or values of name over the union of sets. */
static void names_or_values(api_req *r, const char *name)
{
	api_match_set *sets;
	size_t nsets, limit;
	int64_t start, end;
	if (api__parse_match_sets(r, false, &sets, &nsets) != 0 || api__parse_range(r, &start, &end) != 0 ||
	    api__parse_limit(r, &limit) != 0)
		return;
	tsdb_querier *q = open_querier(r, start, end);
	if (!q)
		return;
	size_t nparts = nsets ? nsets : 1;
	const char ***parts = arena_calloc(&r->arena, nparts, sizeof *parts);
	size_t *counts = arena_calloc(&r->arena, nparts, sizeof *counts);
	if (!parts || !counts) {
		api__reply_error(r, API_ERR_INTERNAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nparts; i++) {
		const tsdb_matcher *m = nsets ? sets[i].m : NULL;
		size_t nm = nsets ? sets[i].n : 0;
		int rc = name ? tsdb_querier_label_values(q, name, m, nm, &parts[i], &counts[i])
			      : tsdb_querier_label_names(q, m, nm, &parts[i], &counts[i]);
		if (rc != 0) {
			api__reply_error(r, API_ERR_EXECUTION, "label lookup failed");
			goto out;
		}
	}
	const char **all;
	size_t n;
	if (nparts == 1) {
		all = parts[0];
		n = counts[0];
	} else if (api__strings_union(r, parts, counts, nparts, &all, &n) != 0) {
		api__reply_error(r, API_ERR_INTERNAL, "out of memory");
		goto out;
	}
	reply_strings(r, all, n, limit);
out:
	tsdb_querier_close(q);
}

void api__h_labels(api_req *r)
{
	names_or_values(r, NULL);
}

void api__h_label_values(api_req *r)
{
	const char *name = r->path_params[0];
	if (!labels_valid_name(name, strlen(name))) {
		api__reply_error(r, API_ERR_BAD_DATA, "invalid label name: \"%s\"", name);
		return;
	}
	names_or_values(r, name);
}
