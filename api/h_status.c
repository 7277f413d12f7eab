/*
 * h_status.c — GET /api/v1/status/buildinfo and GET /api/v1/status/tsdb in Prometheus's shapes.
 *
 * /status/tsdb: headStats (numSeries, numLabelPairs, chunkCount, minTime, maxTime) and the four
 * cardinality top lists from tsdb_get_cardinality (top `limit`, default 10), plus a "slod" object
 * with storage efficiency: chunk bytes, bytes per sample (compressed chunk bytes / samples in
 * chunks) and bytes per series ((chunk + interned label bytes) / series; index overhead excluded).
 */
#include "api/internal.h"

#include <stdlib.h>

#include "tsdb/tsdb.h"

void api__h_buildinfo(api_req *r)
{
	api_json j;
	api__reply_json_begin(r, &j);
	api_json_obj_begin(&j);
	api_json_key(&j, "version");
	api_json_str(&j, r->srv->version);
	api_json_key(&j, "revision");
	api_json_str(&j, r->srv->revision);
	api_json_key(&j, "branch");
	api_json_str(&j, "");
	api_json_key(&j, "buildUser");
	api_json_str(&j, "");
	api_json_key(&j, "buildDate");
	api_json_str(&j, __DATE__);
	api_json_key(&j, "goVersion");
	api_json_str(&j, "none (slod, C11)");
	api_json_key(&j, "application");
	api_json_str(&j, "slod");
	api_json_obj_end(&j);
	api__reply_json_end(r, &j, NULL, 0);
}

static void card_list(api_json *j, const char *key, const tsdb_card_entry *e, size_t n)
{
	api_json_key(j, key);
	api_json_arr_begin(j);
	for (size_t i = 0; i < n; i++) {
		api_json_obj_begin(j);
		api_json_key(j, "name");
		api_json_str(j, e[i].name);
		api_json_key(j, "value");
		api_json_uint(j, e[i].value);
		api_json_obj_end(j);
	}
	api_json_arr_end(j);
}

void api__h_status_tsdb(api_req *r)
{
	size_t limit = 10;
	const char *ls = api__param(r, "limit");
	if (ls && *ls) {
		char *end;
		long v = strtol(ls, &end, 10);
		if (*end || v <= 0) {
			api__reply_error(r, API_ERR_BAD_DATA, "limit must be a positive number");
			return;
		}
		limit = (size_t)v;
	}
	tsdb_stats st;
	tsdb_get_stats(r->be->db, &st);
	tsdb_cardinality c;
	if (tsdb_get_cardinality(r->be->db, limit, &c) != 0) {
		api__reply_error(r, API_ERR_INTERNAL, "cannot compute cardinality statistics");
		return;
	}
	bool empty = st.min_time > st.max_time;
	api_json j;
	api__reply_json_begin(r, &j);
	api_json_obj_begin(&j);
	api_json_key(&j, "headStats");
	api_json_obj_begin(&j);
	api_json_key(&j, "numSeries");
	api_json_uint(&j, st.series);
	if (c.n_values_by_label < limit) {
		/* the list holds every label name, so its sum is the number of distinct pairs */
		uint64_t pairs = 0;
		for (size_t i = 0; i < c.n_values_by_label; i++)
			pairs += c.values_by_label[i].value;
		api_json_key(&j, "numLabelPairs");
		api_json_uint(&j, pairs);
	}
	api_json_key(&j, "chunkCount");
	api_json_uint(&j, st.chunks);
	api_json_key(&j, "minTime");
	api_json_int(&j, empty ? 0 : st.min_time);
	api_json_key(&j, "maxTime");
	api_json_int(&j, empty ? 0 : st.max_time);
	api_json_obj_end(&j);
	card_list(&j, "seriesCountByMetricName", c.series_by_metric, c.n_series_by_metric);
	card_list(&j, "labelValueCountByLabelName", c.values_by_label, c.n_values_by_label);
	card_list(&j, "memoryInBytesByLabelName", c.memory_by_label, c.n_memory_by_label);
	card_list(&j, "seriesCountByLabelValuePair", c.series_by_label_pair, c.n_series_by_label_pair);
	api_json_key(&j, "slod");
	api_json_obj_begin(&j);
	api_json_key(&j, "samplesInChunks");
	api_json_uint(&j, st.chunk_samples);
	api_json_key(&j, "chunkBytes");
	api_json_uint(&j, st.chunk_bytes);
	api_json_key(&j, "labelBytes");
	api_json_uint(&j, st.label_bytes);
	api_json_key(&j, "walBytes");
	api_json_uint(&j, st.wal_bytes);
	api_json_key(&j, "bytesPerSample");
	api_json_double(&j, st.chunk_samples ? (double)st.chunk_bytes / (double)st.chunk_samples : 0);
	api_json_key(&j, "bytesPerSeries");
	api_json_double(&j, st.series ? (double)(st.chunk_bytes + st.label_bytes) / (double)st.series : 0);
	api_json_obj_end(&j);
	api_json_obj_end(&j);
	tsdb_cardinality_free(&c);
	api__reply_json_end(r, &j, NULL, 0);
}
