/* Tests for api/h_parse.c: /api/v1/format_query and /api/v1/parse_query over a real server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/api.h"
#include "http_client.h"

static uint16_t port;
static api_server *srv;

static int setup(void **state)
{
	(void)state;
	api_options o;
	api_options_default(&o);
	o.listen_address = "127.0.0.1:0";
	o.threads = 2;
	char err[256];
	assert_int_equal(api_server_start(&o, &srv, err, sizeof err), 0);
	port = api_server_port(srv);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	api_server_stop(srv);
	return 0;
}

static void expect(const char *method, const char *path, const char *form, int status, const char *body)
{
	http_resp r;
	http_request(port, method, path, form ? "Content-Type: application/x-www-form-urlencoded\r\n" : NULL, form,
		     form ? strlen(form) : 0, 10000, &r);
	if (r.status != status || strcmp(r.body ? r.body : "", body) != 0)
		fprintf(stderr, "got %d %s\nwant %d %s\n", r.status, r.body, status, body);
	assert_int_equal(r.status, status);
	assert_string_equal(r.body, body);
	http_resp_free(&r);
}

static void test_format_query(void **state)
{
	(void)state;
	/* answers before the storage is ready: parsing needs none */
	expect("GET", "/api/v1/format_query?query=sum(rate(foo%7Bbar%3D%22baz%22%7D%5B5m%5D))%20by%20(job)", NULL, 200,
	       "{\"status\":\"success\",\"data\":\"sum by (job) (rate(foo{bar=\\\"baz\\\"}[5m]))\"}");
	expect("POST", "/api/v1/format_query", "query=1%2B%2B1", 200, "{\"status\":\"success\",\"data\":\"1 + 1\"}");
	expect("GET", "/api/v1/format_query?query=sum(", NULL, 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"query\\\": 1:5: "
	       "parse error: unclosed left parenthesis\"}");
	expect("GET", "/api/v1/format_query", NULL, 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"query\\\": "
	       "unknown position: parse error: no expression found in input\"}");
}

static void test_parse_query(void **state)
{
	(void)state;
	http_resp r;
	http_request(port, "GET", "/api/v1/parse_query?query=up%7Bjob%3D%22a%22%7D%20%3E%201", NULL, NULL, 0, 10000, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"status\":\"success\""));
	assert_non_null(strstr(r.body, "\"type\":\"binaryExpr\""));
	assert_non_null(strstr(r.body, "\"op\":\"\\u003e\"")); /* Go escapes > in JSON */
	assert_non_null(strstr(r.body, "\"type\":\"vectorSelector\""));
	assert_non_null(strstr(r.body, "\"name\":\"up\""));
	http_resp_free(&r);
	expect("GET", "/api/v1/parse_query?query=up%7B", NULL, 400,
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"query\\\": 1:4: "
	       "parse error: unexpected end of input inside braces\"}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_query),
		cmocka_unit_test(test_parse_query),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
