/*
 * routes.c — the route table: method set, path pattern, handler, and whether the route needs the
 * storage (503 until WAL replay has finished). Patterns are matched in order; the first whose path
 * and method match wins. The pattern string is also the `handler` label of
 * slod_http_requests_total in /metrics. A new route is one handler in its own file plus one line here.
 */
#include "api/internal.h"

const api_route api__routes[] = {
	{API_POST, "/api/v1/write", api__h_write, true},
	{API_POST, "/api/v1/import/prometheus", api__h_import_text, true},
	{API_GET | API_POST, "/api/v1/query", api__h_query, true},
	{API_GET | API_POST, "/api/v1/query_range", api__h_query_range, true},
	{API_GET | API_POST, "/api/v1/query_exemplars", api__h_query_exemplars, true},
	{API_GET | API_POST, "/api/v1/format_query", api__h_format_query, false},
	{API_GET | API_POST, "/api/v1/parse_query", api__h_parse_query, false},
	{API_GET, "/api/v1/metadata", api__h_metadata, true},
	{API_GET | API_POST, "/api/v1/series", api__h_series, true},
	{API_GET | API_POST, "/api/v1/labels", api__h_labels, true},
	{API_GET | API_POST, "/api/v1/label/:name/values", api__h_label_values, true},
	{API_GET | API_POST, "/api/v1/export", api__h_export, true},
	{API_GET, "/federate", api__h_federate, true},
	{API_GET, "/api/v1/rules", api__h_rules, true},
	{API_GET, "/api/v1/alerts", api__h_alerts, true},
	{API_GET, "/api/v1/slos", api__h_slos, true},
	{API_GET, "/api/v1/slos/:id", api__h_slo, true},
	{API_GET, "/api/v1/slos/:id/history", api__h_slo_history, true},
	{API_GET, "/api/v1/notifications", api__h_notifications, true},
	{API_GET, "/api/v1/status/buildinfo", api__h_buildinfo, false},
	{API_GET, "/api/v1/status/tsdb", api__h_status_tsdb, true},
	{API_GET, "/-/healthy", api__h_healthy, false},
	{API_GET, "/-/ready", api__h_ready, false},
	{API_POST | API_PUT, "/-/reload", api__h_reload, true},
	{API_GET, "/metrics", api__h_metrics, false},
	{API_GET, "/", api__h_ui, false},
	{API_GET, "/slos", api__h_ui, false},
	{API_GET, "/slos/*", api__h_ui, false},
	{API_GET, "/ui/*", api__h_ui, false},
};

const size_t api__n_routes = sizeof api__routes / sizeof api__routes[0];
