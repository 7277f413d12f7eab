/* Tests for api/params.c: URL decoding, form bodies, repeated parameters, route patterns,
 * listen addresses and time parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "api/internal.h"

static void req_init(api_req *r)
{
	memset(r, 0, sizeof *r);
	arena_init(&r->arena, 0);
	buf_init(&r->out, 0);
	buf_init(&r->body, 0);
}

static void req_deinit(api_req *r)
{
	arena_deinit(&r->arena);
	buf_deinit(&r->out);
	buf_deinit(&r->body);
}

static void test_url_decode(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(api__url_decode("a%20b+c%2Bd", 11, out, true), 7);
	assert_string_equal(out, "a b c+d");
	assert_int_equal(api__url_decode("a+b", 3, out, false), 3);
	assert_string_equal(out, "a+b");
	assert_int_equal(api__url_decode("%7b%7D", 6, out, true), 2);
	assert_string_equal(out, "{}");
	assert_int_equal(api__url_decode("bad%2", 5, out, true), -1);
	assert_int_equal(api__url_decode("bad%", 4, out, true), -1);
	assert_int_equal(api__url_decode("bad%zz", 6, out, true), -1);
}

static void test_form_and_repeated(void **state)
{
	(void)state;
	api_req r;
	req_init(&r);
	const char *form = "match%5B%5D=up%7Bjob%3D%22a%22%7D&start=1&&match[]=foo+bar&flag&end=";
	assert_int_equal(api__form_parse(&r, form, strlen(form)), 0);
	assert_int_equal(r.n_params, 5);
	assert_string_equal(api__param(&r, "start"), "1");
	assert_string_equal(api__param(&r, "flag"), "");
	assert_string_equal(api__param(&r, "end"), "");
	assert_null(api__param(&r, "missing"));
	const char **v;
	assert_int_equal(api__param_all(&r, "match[]", &v), 2);
	assert_string_equal(v[0], "up{job=\"a\"}");
	assert_string_equal(v[1], "foo bar");
	assert_int_equal(api__param_all(&r, "nope", &v), 0);
	/* many parameters grow the array */
	for (int i = 0; i < 100; i++)
		assert_int_equal(api__param_add(&r, "match[]", 7, "x", 1), 0);
	assert_int_equal(api__param_all(&r, "match[]", &v), 102);
	assert_string_equal(v[0], "up{job=\"a\"}");
	assert_int_equal(api__form_parse(&r, "a=%G1", 5), -1);
	req_deinit(&r);
}

static void test_route_match(void **state)
{
	(void)state;
	arena a;
	arena_init(&a, 0);
	const char *p[API_MAX_PATH_PARAMS];
	size_t np = 9;
	assert_true(api__route_match("/api/v1/series", "/api/v1/series", &a, p, &np));
	assert_int_equal(np, 0);
	assert_false(api__route_match("/api/v1/series", "/api/v1/series/", &a, p, &np));
	assert_false(api__route_match("/api/v1/series", "/api/v1/serie", &a, p, &np));
	assert_true(api__route_match("/api/v1/label/:name/values", "/api/v1/label/job/values", &a, p, &np));
	assert_int_equal(np, 1);
	assert_string_equal(p[0], "job");
	assert_false(api__route_match("/api/v1/label/:name/values", "/api/v1/label//values", &a, p, &np));
	assert_false(api__route_match("/api/v1/label/:name/values", "/api/v1/label/a/b/values", &a, p, &np));
	assert_true(api__route_match("/a/:x/:y", "/a/1/2", &a, p, &np));
	assert_int_equal(np, 2);
	assert_string_equal(p[1], "2");
	assert_true(api__route_match("/ui/*", "/ui/app.js", &a, p, &np));
	assert_false(api__route_match("/ui/*", "/u", &a, p, &np));
	arena_deinit(&a);

	/* every route in the table is reachable by its own pattern (no shadowing) */
	for (size_t i = 0; i < api__n_routes; i++) {
		for (size_t k = 0; k < i; k++) {
			bool same = strcmp(api__routes[i].pattern, api__routes[k].pattern) == 0 &&
				    (api__routes[i].methods & api__routes[k].methods);
			assert_false(same);
		}
	}
}

static void test_hostport(void **state)
{
	(void)state;
	char host[64];
	uint16_t port;
	assert_int_equal(api__split_hostport("127.0.0.1:9099", host, sizeof host, &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 9099);
	assert_int_equal(api__split_hostport(":0", host, sizeof host, &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(port, 0);
	assert_int_equal(api__split_hostport("[::1]:80", host, sizeof host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 80);
	assert_int_equal(api__split_hostport("localhost:65535", host, sizeof host, &port), 0);
	assert_int_equal(api__split_hostport("localhost:65536", host, sizeof host, &port), -1);
	assert_int_equal(api__split_hostport("localhost", host, sizeof host, &port), -1);
	assert_int_equal(api__split_hostport("localhost:", host, sizeof host, &port), -1);
	assert_int_equal(api__split_hostport("::1:80", host, sizeof host, &port), -1);
	assert_int_equal(api__split_hostport("h:8a", host, sizeof host, &port), -1);
	assert_int_equal(api__split_hostport("[::1]80", host, sizeof host, &port), -1);
}

static void test_time_param(void **state)
{
	(void)state;
	api_req r;
	req_init(&r);
	assert_int_equal(api__param_add(&r, "start", 5, "1700000000.5", 12), 0);
	assert_int_equal(api__param_add(&r, "end", 3, "2023-11-14T22:13:20Z", 20), 0);
	assert_int_equal(api__param_add(&r, "bad", 3, "yesterday", 9), 0);
	int64_t t;
	assert_int_equal(api__param_time(&r, "start", 0, &t), 0);
	assert_int_equal(t, 1700000000500);
	assert_int_equal(api__param_time(&r, "end", 0, &t), 0);
	assert_int_equal(t, 1700000000000);
	assert_int_equal(api__param_time(&r, "absent", 42, &t), 0);
	assert_int_equal(t, 42);
	assert_false(r.replied);
	assert_int_equal(api__param_time(&r, "bad", 0, &t), -1);
	assert_true(r.replied);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.out.data, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
					"\\\"bad\\\": Invalid time value for 'bad': cannot parse \\\"yesterday\\\" to a "
					"valid timestamp\"}");
	req_deinit(&r);
}

/* A %00 in a parameter must not silently cut a query: the request records it (dispatch: 400). */
static void test_nul_param(void **state)
{
	(void)state;
	api_req r;
	req_init(&r);
	assert_int_equal(api__form_parse(&r, "a=1&query=up%00%7B%7D", 21), 0);
	assert_non_null(r.nul_param);
	assert_string_equal(r.nul_param, "query");
	req_deinit(&r);
	req_init(&r);
	assert_int_equal(api__form_parse(&r, "a=1&query=up", 12), 0);
	assert_null(r.nul_param);
	req_deinit(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_decode),  cmocka_unit_test(test_form_and_repeated),
		cmocka_unit_test(test_route_match), cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_time_param), cmocka_unit_test(test_nul_param),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
