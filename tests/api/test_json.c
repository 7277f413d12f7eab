/* Tests for api/json.c (streaming JSON writer) and api/reply.c (Prometheus envelopes). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/internal.h"
#include "api/json.h"
#include "util/labels.h"

static void test_nesting_and_commas(void **state)
{
	(void)state;
	buf b;
	buf_init(&b, 0);
	api_json j;
	api_json_init(&j, &b);
	api_json_obj_begin(&j);
	api_json_key(&j, "a");
	api_json_int(&j, -5);
	api_json_key(&j, "b");
	api_json_arr_begin(&j);
	api_json_uint(&j, 1);
	api_json_arr_begin(&j);
	api_json_arr_end(&j);
	api_json_obj_begin(&j);
	api_json_obj_end(&j);
	api_json_bool(&j, true);
	api_json_null(&j);
	api_json_arr_end(&j);
	api_json_key(&j, "c\"q");
	api_json_str(&j, "x\ny\x01");
	api_json_obj_end(&j);
	assert_false(api_json_failed(&j));
	assert_string_equal(b.data, "{\"a\":-5,\"b\":[1,[],{},true,null],\"c\\\"q\":\"x\\ny\\u0001\"}");
	buf_deinit(&b);
}

static void test_numbers(void **state)
{
	(void)state;
	buf b;
	buf_init(&b, 0);
	api_json j;
	api_json_init(&j, &b);
	api_json_arr_begin(&j);
	api_json_double(&j, 0.1);
	api_json_double(&j, NAN);
	api_json_double(&j, 1e21);
	api_json_sample_value(&j, 1.5);
	api_json_sample_value(&j, NAN);
	api_json_sample_value(&j, -INFINITY);
	api_json_sample_value(&j, 1e-7);
	api_json_timestamp(&j, 1500);
	api_json_timestamp(&j, 2000);
	api_json_timestamp(&j, 1700000000007);
	api_json_timestamp(&j, -1);
	api_json_timestamp(&j, 0);
	api_json_arr_end(&j);
	assert_false(api_json_failed(&j));
	assert_string_equal(b.data, "[0.1,null,1e+21,\"1.5\",\"NaN\",\"-Inf\",\"1e-07\",1.500,2,1700000000.007,-0.001,0]");
	buf_deinit(&b);
}

static void test_labels_object(void **state)
{
	(void)state;
	slod_label v[] = {{"__name__", "up"}, {"job", "a\"b"}};
	slod_labels ls = {v, 2};
	buf b;
	buf_init(&b, 0);
	api_json j;
	api_json_init(&j, &b);
	api_json_labels(&j, &ls);
	assert_string_equal(b.data, "{\"__name__\":\"up\",\"job\":\"a\\\"b\"}");
	buf_deinit(&b);
}

static void test_errors_are_sticky(void **state)
{
	(void)state;
	buf b;
	buf_init(&b, 8); /* tiny limit */
	api_json j;
	api_json_init(&j, &b);
	api_json_arr_begin(&j);
	api_json_str(&j, "this does not fit");
	assert_true(api_json_failed(&j));
	api_json_arr_end(&j);
	assert_true(api_json_failed(&j));
	buf_deinit(&b);

	buf_init(&b, 0);
	api_json_init(&j, &b);
	api_json_arr_end(&j); /* unbalanced */
	assert_true(api_json_failed(&j));
	buf_deinit(&b);

	buf_init(&b, 0);
	api_json_init(&j, &b);
	api_json_obj_begin(&j);
	api_json_key(&j, "k");
	api_json_obj_end(&j); /* key without value */
	assert_true(api_json_failed(&j));
	buf_deinit(&b);

	buf_init(&b, 0);
	api_json_init(&j, &b);
	for (int i = 0; i < API_JSON_MAX_DEPTH + 1; i++)
		api_json_arr_begin(&j);
	assert_true(api_json_failed(&j));
	buf_deinit(&b);
}

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

static void test_envelopes(void **state)
{
	(void)state;
	api_req r;
	req_init(&r);
	api_json j;
	api__reply_json_begin(&r, &j);
	api_json_arr_begin(&j);
	api_json_str(&j, "a");
	api_json_arr_end(&j);
	const char *w[] = {"results truncated due to limit"};
	api__reply_json_end(&r, &j, w, 1);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "application/json");
	assert_string_equal(r.out.data,
			    "{\"status\":\"success\",\"data\":[\"a\"],\"warnings\":[\"results truncated due to limit\"]}");
	/* the first reply wins */
	api__reply_error(&r, API_ERR_INTERNAL, "late");
	assert_int_equal(r.status, 200);
	req_deinit(&r);

	static const struct {
		api_err_type t;
		int status;
		const char *name;
	} cases[] = {{API_ERR_BAD_DATA, 400, "bad_data"},     {API_ERR_EXECUTION, 422, "execution"},
		     {API_ERR_CANCELED, 503, "canceled"},     {API_ERR_TIMEOUT, 503, "timeout"},
		     {API_ERR_INTERNAL, 500, "internal"},     {API_ERR_NOT_FOUND, 404, "not_found"},
		     {API_ERR_UNAVAILABLE, 503, "unavailable"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		req_init(&r);
		api__reply_error(&r, cases[i].t, "bad \"%s\"", "x");
		assert_int_equal(r.status, cases[i].status);
		char want[256];
		snprintf(want, sizeof want, "{\"status\":\"error\",\"errorType\":\"%s\",\"error\":\"bad \\\"x\\\"\"}",
			 cases[i].name);
		assert_string_equal(r.out.data, want);
		req_deinit(&r);
	}

	req_init(&r);
	api__reply_text(&r, 415, "unsupported %s", "media");
	assert_int_equal(r.status, 415);
	assert_string_equal(r.out.data, "unsupported media\n");
	assert_string_equal(r.content_type, "text/plain; charset=utf-8");
	req_deinit(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_and_commas), cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_labels_object),      cmocka_unit_test(test_errors_are_sticky),
		cmocka_unit_test(test_envelopes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
