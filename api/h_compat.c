/*
 * h_compat.c — routes Grafana's Prometheus data source calls that slod answers with empty data
 * because it keeps no such information: GET /api/v1/metadata (metric metadata: {}) and
 * GET|POST /api/v1/query_exemplars (exemplars are not stored: []).
 */
#include "api/internal.h"

void api__h_metadata(api_req *r)
{
	api_json j;
	api__reply_json_begin(r, &j);
	api_json_obj_begin(&j);
	api_json_obj_end(&j);
	api__reply_json_end(r, &j, NULL, 0);
}

void api__h_query_exemplars(api_req *r)
{
	api_json j;
	api__reply_json_begin(r, &j);
	api_json_arr_begin(&j);
	api_json_arr_end(&j);
	api__reply_json_end(r, &j, NULL, 0);
}
