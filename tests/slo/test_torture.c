/*
 * test_torture.c — slo.torture: SLO spec loading (YAML), validation and rule generation under a
 * fault-injecting allocator (tests/util/test_torture_alloc.h). For each example spec file and
 * N = 1, 2, ... the Nth allocation fails, until a run completes untouched. Every step must then
 * fail with SLO_ERR_NOMEM (never a spec error blamed on the user's file, never a crash or a leak
 * under ASan), or succeed with exactly the rule file of the fault-free run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slo/slo.h"
#include "test_torture_alloc.h"
#include "util/buf.h"

#define MAX_RUNS 200000UL

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char data[1 << 20];
	*len = fread(data, 1, sizeof data - 1, f);
	fclose(f);
	data[*len] = '\0';
	return data;
}

/* Loads, validates and generates every group into out. Returns 0 or the first negative code
 * (and which step in *step). */
static int pipeline(const char *name, const char *data, size_t len, buf *out, const char **step)
{
	slo_set *s = slo_set_new();
	int rc = 0;
	*step = "slo_set_new";
	if (!s)
		return SLO_ERR_NOMEM;
	*step = "slo_load_buffer";
	rc = slo_load_buffer(s, name, data, len);
	if (rc != 0)
		goto out;
	*step = "slo_validate";
	rc = slo_validate(s, NULL);
	if (rc != 0)
		goto out;
	*step = "slo_generate";
	const slo_group *groups;
	size_t ng = slo_set_groups(s, &groups);
	for (size_t i = 0; i < ng && rc == 0; i++) {
		char err[256];
		rc = slo_generate(s, &groups[i], NULL, out, err, sizeof err);
	}
out:
	if (rc != 0 && rc != SLO_ERR_NOMEM) {
		const slo_diag *d;
		size_t nd = slo_set_diags(s, &d);
		for (size_t i = 0; i < nd; i++) {
			char msg[512];
			slo_diag_format(&d[i], msg, sizeof msg);
			print_error("  diagnostic: %s\n", msg);
		}
	}
	slo_set_free(s);
	return rc;
}

static void torture_file(const char *file)
{
	char path[512];
	snprintf(path, sizeof path, "%s/examples/slos/%s", SLOD_SOURCE_DIR, file);
	size_t len;
	const char *data = read_file(path, &len);
	buf ref, got;
	buf_init(&ref, 0);
	const char *step;
	assert_int_equal(pipeline(file, data, len, &ref, &step), 0);
	unsigned long n, errors = 0;
	for (n = 1; n < MAX_RUNS; n++) {
		buf_init(&got, 0);
		torture_fail_nth(n);
		int rc = pipeline(file, data, len, &got, &step);
		bool failed = torture_disarm();
		if (rc == 0) {
			assert_int_equal(got.len, ref.len);
			assert_memory_equal(got.data, ref.data, ref.len);
		} else {
			if (rc != SLO_ERR_NOMEM)
				print_error("%s, allocation %lu failed: %s returned %d, not SLO_ERR_NOMEM\n", file, n, step, rc);
			assert_int_equal(rc, SLO_ERR_NOMEM);
			errors++;
		}
		buf_deinit(&got);
		if (!failed)
			break;
	}
	assert_true(n < MAX_RUNS);
	print_message("%s: %lu runs, %lu clean out-of-memory errors\n", file, n, errors);
	buf_deinit(&ref);
}

static void test_examples_oom(void **state)
{
	(void)state;
	torture_file("checkout-k8s.yaml");
	torture_file("multi-service.yaml");
	torture_file("prometheus-self.yaml");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
