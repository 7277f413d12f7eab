/*
 * h_query.c — GET|POST /api/v1/query and /api/v1/query_range through the PromQL engine, with
 * Prometheus's parameters, result JSON, warnings/infos and error codes.
 *
 *   query:       query (required), time (default now), timeout, lookback_delta
 *   (timeout: a per-request deadline, enforced by the in-flight watchdog; shutdown cancels too)
 *   query_range: query, start, end, step (all required), timeout, lookback_delta
 * Result shapes (data):
 *   {"resultType":"vector","result":[{"metric":{...},"value":[1700000000.5,"1"]}]}
 *   {"resultType":"matrix","result":[{"metric":{...},"values":[[t,"v"],...]}]}
 *   {"resultType":"scalar","result":[t,"v"]}     {"resultType":"string","result":[t,"s"]}
 * Engine error types map to errorType/HTTP as in Prometheus: bad_data 400, execution (and too many
 * samples) 422, timeout/canceled 503, internal 500. The engine (shared, immutable) belongs to the
 * server; each query owns its promql_result, freed before the handler returns.
 */
#include "api/internal.h"

#include <string.h>

#include "promql/engine.h"
#include "util/fmt.h"

static api_err_type map_err(promql_errtype t)
{
	switch (t) {
	case PROMQL_ERRTYPE_BAD_DATA: return API_ERR_BAD_DATA;
	case PROMQL_ERRTYPE_EXECUTION: return API_ERR_EXECUTION;
	case PROMQL_ERRTYPE_TOO_MANY_SAMPLES: return API_ERR_EXECUTION;
	case PROMQL_ERRTYPE_TIMEOUT: return API_ERR_TIMEOUT;
	case PROMQL_ERRTYPE_CANCELED: return API_ERR_CANCELED;
	default: return API_ERR_INTERNAL;
	}
}

static void point(api_json *j, int64_t t, double v)
{
	api_json_arr_begin(j);
	api_json_timestamp(j, t);
	api_json_sample_value(j, v);
	api_json_arr_end(j);
}

static void reply_result(api_req *r, const promql_result *res)
{
	if (res->err_type == PROMQL_ERRTYPE_BAD_DATA && res->err && strstr(res->err, "parse error")) {
		/* parse and type errors: Prometheus wraps them as a bad "query" parameter (others, such
		 * as `invalid expression type "range vector" for range query`, are not wrapped) */
		api__reply_error(r, API_ERR_BAD_DATA, "invalid parameter \"query\": %s", res->err ? res->err : "bad query");
		return;
	}
	if (res->err_type != PROMQL_ERRTYPE_NONE) {
		api__reply_error(r, map_err(res->err_type), "%s", res->err ? res->err : "query failed");
		return;
	}
	api_json j;
	api__reply_json_begin(r, &j);
	api_json_obj_begin(&j);
	api_json_key(&j, "resultType");
	switch (res->type) {
	case PROMQL_RESULT_SCALAR:
		api_json_str(&j, "scalar");
		api_json_key(&j, "result");
		point(&j, res->t, res->scalar);
		break;
	case PROMQL_RESULT_STRING:
		api_json_str(&j, "string");
		api_json_key(&j, "result");
		api_json_arr_begin(&j);
		api_json_timestamp(&j, res->t);
		api_json_strn(&j, res->string ? res->string : "", res->string_len);
		api_json_arr_end(&j);
		break;
	case PROMQL_RESULT_VECTOR:
	case PROMQL_RESULT_MATRIX: {
		bool vec = res->type == PROMQL_RESULT_VECTOR;
		api_json_str(&j, vec ? "vector" : "matrix");
		api_json_key(&j, "result");
		api_json_arr_begin(&j);
		for (size_t i = 0; i < res->n_series; i++) {
			const promql_series *s = &res->series[i];
			api_json_obj_begin(&j);
			api_json_key(&j, "metric");
			api_json_labels(&j, &s->labels);
			if (vec) {
				api_json_key(&j, "value");
				if (s->n_points)
					point(&j, s->points[0].t, s->points[0].v);
				else
					api_json_null(&j);
			} else {
				api_json_key(&j, "values");
				api_json_arr_begin(&j);
				for (size_t k = 0; k < s->n_points; k++)
					point(&j, s->points[k].t, s->points[k].v);
				api_json_arr_end(&j);
			}
			api_json_obj_end(&j);
		}
		api_json_arr_end(&j);
		break;
	}
	default:
		api__reply_error(r, API_ERR_INTERNAL, "query returned no result");
		return;
	}
	api_json_obj_end(&j);
	if (res->n_infos) {
		api_json_key(&j, "infos");
		api_json_arr_begin(&j);
		for (size_t i = 0; i < res->n_infos; i++)
			api_json_str(&j, res->infos[i]);
		api_json_arr_end(&j);
	}
	api__reply_json_end(r, &j, res->warnings, res->n_warnings);
}

/* Shared optional parameters: timeout (a deadline enforced through the in-flight watchdog, on top
 * of the engine's own --query.timeout) and lookback_delta. Fills *timeout_ms (0 = none). 0 or -1
 * after replying. */
static int query_opts(api_req *r, promql_query_opts *qo, int64_t *timeout_ms)
{
	memset(qo, 0, sizeof *qo);
	*timeout_ms = 0;
	const char *s = api__param(r, "timeout");
	int64_t ms;
	if (s && *s) {
		if (parse_api_duration_ms(s, &ms) != 0) {
			api__reply_error(r, API_ERR_BAD_DATA,
					 "invalid parameter \"timeout\": cannot parse \"%s\" to a valid duration", s);
			return -1;
		}
		*timeout_ms = ms;
	}
	s = api__param(r, "lookback_delta");
	if (s && *s) {
		if (parse_api_duration_ms(s, &ms) != 0 || ms < 0) {
			api__reply_error(r, API_ERR_BAD_DATA,
					 "error parsing lookback delta duration: cannot parse \"%s\" to a valid duration", s);
			return -1;
		}
		qo->lookback_delta_ms = ms;
	}
	return 0;
}

static const char *query_text(api_req *r)
{
	const char *q = api__param(r, "query");
	return q ? q : "";
}

/* Runs one query (step 0: instant at start) with the request's deadline registered. */
static void run(api_req *r, int64_t start, int64_t end, int64_t step, promql_query_opts *qo, int64_t timeout_ms)
{
	api_inflight node;
	api__inflight_add(r->srv, &node, timeout_ms);
	qo->cancel = &node.cancel;
	promql_result *res = step ? promql_query_range(r->srv->engine, r->be->db, query_text(r), start, end, step, qo)
				  : promql_query_instant(r->srv->engine, r->be->db, query_text(r), start, qo);
	api__inflight_remove(r->srv, &node);
	if (!res) {
		api__reply_error(r, API_ERR_INTERNAL, "out of memory");
		return;
	}
	if (res->err_type == PROMQL_ERRTYPE_CANCELED && node.timed_out)
		api__reply_error(r, API_ERR_TIMEOUT, "query timed out in expression evaluation");
	else
		reply_result(r, res);
	promql_result_free(res);
}

void api__h_query(api_req *r)
{
	int64_t t, timeout_ms;
	promql_query_opts qo;
	if (api__param_time(r, "time", slod_clock_now(&r->srv->opt.clock), &t) != 0 ||
	    query_opts(r, &qo, &timeout_ms) != 0)
		return;
	run(r, t, t, 0, &qo, timeout_ms);
}

void api__h_query_range(api_req *r)
{
	int64_t start, end, step;
	promql_query_opts qo;
	const char *s;
	s = api__param(r, "start");
	if (slod_parse_time_ms(s ? s : "", &start) != 0) {
		api__reply_error(r, API_ERR_BAD_DATA, "invalid parameter \"start\": cannot parse \"%s\" to a valid timestamp",
				 s ? s : "");
		return;
	}
	s = api__param(r, "end");
	if (slod_parse_time_ms(s ? s : "", &end) != 0) {
		api__reply_error(r, API_ERR_BAD_DATA, "invalid parameter \"end\": cannot parse \"%s\" to a valid timestamp",
				 s ? s : "");
		return;
	}
	if (end < start) {
		api__reply_error(r, API_ERR_BAD_DATA, "invalid parameter \"end\": end timestamp must not be before start time");
		return;
	}
	s = api__param(r, "step");
	if (parse_api_duration_ms(s ? s : "", &step) != 0) {
		api__reply_error(r, API_ERR_BAD_DATA, "invalid parameter \"step\": cannot parse \"%s\" to a valid duration",
				 s ? s : "");
		return;
	}
	if (step <= 0) {
		api__reply_error(r, API_ERR_BAD_DATA,
				 "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. "
				 "Try a positive integer");
		return;
	}
	/* end >= start, so the unsigned difference is exact even across the whole int64 range */
	if (((uint64_t)end - (uint64_t)start) / (uint64_t)step > PROMQL_MAX_POINTS_PER_SERIES) {
		api__reply_error(r, API_ERR_BAD_DATA,
				 "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
				 "resolution (?step=XX)");
		return;
	}
	int64_t timeout_ms;
	if (query_opts(r, &qo, &timeout_ms) != 0)
		return;
	run(r, start, end, step, &qo, timeout_ms);
}
