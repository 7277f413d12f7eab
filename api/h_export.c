/*
 * h_export.c — GET|POST /api/v1/export?match[]=...&start=&end=: raw samples as JSON lines, one line
 * per series, in the shape VictoriaMetrics uses for /api/v1/export:
 *   {"metric":{"__name__":"up","job":"x"},"values":[1,0.5],"timestamps":[1700000000000,1700000015000]}
 * Values are JSON numbers with the shortest round-trip digits; NaN, +Inf and -Inf (not JSON
 * numbers) are written as the strings "NaN", "+Inf", "-Inf"; a Prometheus stale marker is
 * written as "StaleNaN" so tests can check it survived. Timestamps are integer milliseconds.
 * match[] is required; start/end default to everything. Used by tests (durability checks) and for
 * backfill into another TSDB. Cost: decodes every selected chunk once; output held in memory.
 */
#include "api/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/fmt.h"

static void put_value(api_json *j, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	if (bits == TSDB_STALE_NAN_BITS)
		api_json_str(j, "StaleNaN");
	else if (isnan(v))
		api_json_str(j, "NaN");
	else if (isinf(v))
		api_json_str(j, v > 0 ? "+Inf" : "-Inf");
	else
		api_json_double(j, v);
}

void api__h_export(api_req *r)
{
	api_match_set *sets;
	size_t nsets;
	int64_t start, end;
	if (api__parse_match_sets(r, true, &sets, &nsets) != 0 || api__parse_range(r, &start, &end) != 0)
		return;
	tsdb_series *s;
	size_t n;
	tsdb_querier *q = api__select_open(r, sets, nsets, start, end, &s, &n);
	if (!q)
		return;
	tsdb_sample *smp = NULL;
	size_t cap = 0;
	buf_reset(&r->out);
	for (size_t i = 0; i < n; i++) {
		long ns = tsdb_querier_samples(q, s[i].ref, start, end, &smp, &cap);
		if (ns < 0) {
			api__reply_error(r, API_ERR_EXECUTION, "reading samples failed");
			goto out;
		}
		if (ns == 0)
			continue;
		api_json j;
		api_json_init(&j, &r->out);
		api_json_obj_begin(&j);
		api_json_key(&j, "metric");
		api_json_labels(&j, s[i].labels);
		api_json_key(&j, "values");
		api_json_arr_begin(&j);
		for (long k = 0; k < ns; k++)
			put_value(&j, smp[k].v);
		api_json_arr_end(&j);
		api_json_key(&j, "timestamps");
		api_json_arr_begin(&j);
		for (long k = 0; k < ns; k++)
			api_json_int(&j, smp[k].t);
		api_json_arr_end(&j);
		api_json_obj_end(&j);
		if (api_json_failed(&j) || buf_putc(&r->out, '\n') != 0) {
			api__reply_error(r, API_ERR_INTERNAL, "response too large or out of memory");
			goto out;
		}
	}
	r->status = 200;
	r->content_type = "application/stream+json";
	r->replied = true;
out:
	free(smp);
	tsdb_querier_close(q);
}
