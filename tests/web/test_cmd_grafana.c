/*
 * test_cmd_grafana.c — `slod grafana-dashboard` (main/cmd_grafana.c): the embedded dashboards are
 * byte-for-byte examples/grafana/, stdout and --output modes, usage errors (2) and I/O errors (1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "main/cmd_grafana.h"

/* The whole file at path (NUL-terminated, length in *n), or NULL. */
static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, len = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + len, 1, 4096, f);
		len += r;
		if (r < 4096)
			break;
	}
	fclose(f);
	buf[len] = 0;
	*n = len;
	return buf;
}

static char *example(const char *file, size_t *n)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/examples/grafana/%s", SLOD_SOURCE_DIR, file);
	char *s = slurp(path, n);
	assert_non_null(s);
	return s;
}

/* Runs the command with args; returns its exit code; out and err get what it printed (owned). */
static int run(char **out, char **err, int argc, ...)
{
	char *argv[16];
	va_list ap;
	va_start(ap, argc);
	argv[0] = "grafana-dashboard";
	for (int i = 1; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	size_t on = 0, en = 0;
	FILE *fo = open_memstream(out, &on), *fe = open_memstream(err, &en);
	assert_non_null(fo);
	assert_non_null(fe);
	int rc = main_cmd_grafana(argc, argv, fo, fe);
	fclose(fo);
	fclose(fe);
	return rc;
}

static void test_stdout_is_the_example(void **st)
{
	(void)st;
	char *out, *err;
	size_t n;
	char *want = example("slo-overview.json", &n);
	assert_int_equal(run(&out, &err, 1), 0);
	assert_string_equal(out, want);
	assert_string_equal(err, "");
	assert_non_null(strstr(out, "\"uid\": \"slod-slo-overview\""));
	free(out);
	free(err);
	free(want);
	want = example("slo-detail.json", &n);
	assert_int_equal(run(&out, &err, 2, "--dashboard=detail"), 0);
	assert_string_equal(out, want);
	assert_non_null(strstr(out, "slo:period_error_budget_remaining:ratio{sloth_id=\\\"$slo\\\"}"));
	free(out);
	free(err);
	free(want);
}

static void test_output_dir(void **st)
{
	(void)st;
	char base[] = "/tmp/slod-grafana-XXXXXX";
	assert_non_null(mkdtemp(base));
	char dir[256], p1[300], p2[300];
	snprintf(dir, sizeof dir, "%s/dash", base);
	snprintf(p1, sizeof p1, "%s/slo-overview.json", dir);
	snprintf(p2, sizeof p2, "%s/slo-detail.json", dir);
	char *out, *err;
	assert_int_equal(run(&out, &err, 3, "-o", dir), 0);
	char want_out[700];
	snprintf(want_out, sizeof want_out, "%s\n%s\n", p1, p2);
	assert_string_equal(out, want_out);
	free(out);
	free(err);
	size_t n1, n2, m1, m2;
	char *w1 = example("slo-overview.json", &n1), *w2 = example("slo-detail.json", &n2);
	char *g1 = slurp(p1, &m1), *g2 = slurp(p2, &m2);
	assert_non_null(g1);
	assert_non_null(g2);
	assert_int_equal(m1, n1);
	assert_memory_equal(g1, w1, n1);
	assert_int_equal(m2, n2);
	assert_memory_equal(g2, w2, n2);
	free(g1);
	free(g2);
	/* only the chosen one, into an existing directory, overwriting */
	unlink(p2);
	assert_int_equal(run(&out, &err, 5, "--dashboard", "detail", "--output", dir), 0);
	assert_non_null(strstr(out, "slo-detail.json"));
	assert_null(strstr(out, "slo-overview.json"));
	free(out);
	free(err);
	g2 = slurp(p2, &m2);
	assert_non_null(g2);
	assert_int_equal(m2, n2);
	free(g2);
	/* no temporary files left */
	DIR *d = opendir(dir);
	assert_non_null(d);
	int files = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.')
			files++;
		else
			assert_true(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0);
	closedir(d);
	assert_int_equal(files, 2);
	unlink(p1);
	unlink(p2);
	rmdir(dir);
	rmdir(base);
	free(w1);
	free(w2);
}

static void test_usage_errors(void **st)
{
	(void)st;
	char *out, *err;
	assert_int_equal(run(&out, &err, 2, "--bogus"), 2);
	assert_non_null(strstr(err, "unknown argument \"--bogus\""));
	assert_string_equal(out, "");
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 2, "--dashboard=everything"), 2);
	assert_non_null(strstr(err, "overview, detail or all"));
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 2, "--dashboard=all"), 2);
	assert_non_null(strstr(err, "needs --output"));
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 2, "-o"), 2);
	assert_non_null(strstr(err, "--output needs a directory"));
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 2, "--help"), 0);
	assert_non_null(strstr(out, "usage: slod grafana-dashboard"));
	free(out);
	free(err);
}

static void test_io_error(void **st)
{
	(void)st;
	char *out, *err;
	assert_int_equal(run(&out, &err, 3, "-o", "/nonexistent-slod-dir/x"), 1);
	assert_non_null(strstr(err, "/nonexistent-slod-dir/x"));
	assert_string_equal(out, "");
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stdout_is_the_example),
	    cmocka_unit_test(test_output_dir),
	    cmocka_unit_test(test_usage_errors),
	    cmocka_unit_test(test_io_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
