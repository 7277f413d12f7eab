/*
 * test_golden.c — slo.golden: `slod generate` output against Sloth v0.16's golden rule files
 * (shared/conformance/sloth, read in place, never copied), byte for byte after the documented
 * normalisation: whole-line '#' comments dropped; blank lines and '---' before the first YAML line
 * dropped; in the expected text `{{ .version }}` becomes slod's version and `{{"X"}}` becomes X.
 * Prints one line per case and a closing "N passed, M failed" line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "slo/slo.h"
#include "slo/slo_cli.h"
#include "util/buf.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	buf b;
	buf_init(&b, 0);
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	return buf_steal(&b);
}

/* Expands the golden template: {{ .version }} -> version, {{"X"}} -> X. */
static char *expand_tpl(const char *t)
{
	buf b;
	buf_init(&b, 0);
	for (const char *p = t; *p;) {
		if (strncmp(p, "{{ .version }}", 14) == 0) {
			buf_puts(&b, SLO_VERSION);
			p += 14;
		} else if (strncmp(p, "{{\"", 3) == 0) {
			const char *e = strstr(p + 3, "\"}}");
			if (!e) {
				buf_putc(&b, *p++);
				continue;
			}
			buf_append(&b, p + 3, (size_t)(e - (p + 3)));
			p = e + 3;
		} else {
			buf_putc(&b, *p++);
		}
	}
	return buf_steal(&b);
}

/* Splits into lines after normalisation; returns the count, lines point into s (modified). */
static size_t norm_lines(char *s, char ***out)
{
	size_t cap = 1024, n = 0;
	char **v = malloc(cap * sizeof *v);
	bool started = false;
	char *save = NULL;
	/* strtok_r would merge empty lines: split by hand. */
	(void)save;
	char *p = s;
	while (*p) {
		char *e = strchr(p, '\n');
		if (e)
			*e = 0;
		const char *t = p;
		while (*t == ' ')
			t++;
		bool comment = *t == '#';
		bool blank_or_sep = *p == 0 || strcmp(p, "---") == 0;
		if (!comment && (started || !blank_or_sep)) {
			started = true;
			if (n == cap) {
				cap *= 2;
				v = realloc(v, cap * sizeof *v);
			}
			v[n++] = p;
		}
		if (!e)
			break;
		p = e + 1;
	}
	*out = v;
	return n;
}

typedef struct gcase {
	const char *out; /* golden name without .yaml.tpl, NULL: expect rejection */
	const char *in;
	const char *args[8];
} gcase;

static const char *sloth_dir(void) { return SLO_SHARED_SLOTH_DIR; }

/* Runs `generate` with args; returns rc and the captured stdout (owned) and stderr (owned). */
static int run_generate(const char *in, const char *const *args, char **out_s, char **err_s)
{
	char inpath[1024], winpath[1024];
	snprintf(inpath, sizeof inpath, "%s/testdata/%s", sloth_dir(), in);
	snprintf(winpath, sizeof winpath, "%s/windows", sloth_dir());
	char *argv[24];
	int argc = 0;
	argv[argc++] = "generate";
	argv[argc++] = "-i";
	argv[argc++] = inpath;
	for (size_t i = 0; args[i]; i++)
		argv[argc++] = strcmp(args[i], "@WINDOWS@") == 0 ? winpath : (char *)args[i];
	argv[argc] = NULL;
	size_t ol = 0, el = 0;
	FILE *o = open_memstream(out_s, &ol), *e = open_memstream(err_s, &el);
	int rc = slo_cli_generate(argc, argv, o, e);
	fclose(o);
	fclose(e);
	return rc;
}

static bool compare(const char *name, char *got, char *want)
{
	char **g, **w;
	size_t ng = norm_lines(got, &g), nw = norm_lines(want, &w);
	bool ok = true;
	size_t i;
	for (i = 0; i < ng && i < nw; i++) {
		if (strcmp(g[i], w[i]) != 0) {
			printf("  %s: first difference at normalised line %zu:\n    want: %s\n    got:  %s\n", name, i + 1, w[i], g[i]);
			ok = false;
			break;
		}
	}
	if (ok && ng != nw) {
		printf("  %s: %zu lines, want %zu\n", name, ng, nw);
		ok = false;
	}
	free(g);
	free(w);
	return ok;
}

static void test_sloth_golden(void **state)
{
	(void)state;
	static const gcase cases[] = {
		{"out-base", "in-base.yaml", {NULL}},
		{"out-base-k8s", "in-base-k8s.yaml", {NULL}},
		{"out-base-no-alerts", "in-base.yaml", {"--disable-alerts", NULL}},
		{"out-base-no-recordings", "in-base.yaml", {"--disable-recordings", NULL}},
		{"out-base-extra-labels", "in-base.yaml", {"-l", "exk1=exv1", "--extra-labels=exk2=exv2", NULL}},
		{"out-multifile", "in-multifile.yaml", {NULL}},
		{"out-multifile-k8s", "in-multifile-k8s.yaml", {NULL}},
		{"out-openslo", "in-openslo.yaml", {NULL}},
		{"out-base-28d", "in-base.yaml", {"--default-slo-period", "28d", NULL}},
		{"out-base-custom-windows-7d", "in-base.yaml",
		 {"--default-slo-period=7d", "--slo-period-windows-path", "@WINDOWS@", NULL}},
		{NULL, "in-invalid-version.yaml", {NULL}},
	};
	int passed = 0, failed = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const gcase *c = &cases[i];
		char *out = NULL, *err = NULL;
		int rc = run_generate(c->in, c->args, &out, &err);
		bool ok;
		const char *name = c->out ? c->out : c->in;
		if (!c->out) {
			ok = rc == 1 && err && strstr(err, "in-invalid-version.yaml:1:10:") != NULL;
			if (!ok)
				printf("  %s: want rejection with a located message, rc=%d stderr=%s\n", name, rc, err ? err : "");
		} else {
			char path[1024];
			snprintf(path, sizeof path, "%s/testdata/%s.yaml.tpl", sloth_dir(), c->out);
			char *tpl = slurp(path);
			if (!tpl) {
				printf("  %s: cannot read %s\n", name, path);
				ok = false;
			} else if (rc != 0) {
				printf("  %s: generate failed rc=%d: %s\n", name, rc, err ? err : "");
				ok = false;
			} else {
				char *want = expand_tpl(tpl);
				ok = compare(name, out, want);
				free(want);
			}
			free(tpl);
		}
		printf("%s %s\n", ok ? "PASS" : "FAIL", name);
		ok ? passed++ : failed++;
		free(out);
		free(err);
	}
	printf("%d passed, %d failed\n", passed, failed);
	assert_int_equal(failed, 0);
}

/* slod's own golden files for the formats Sloth does not read (tests/slo/golden): Pyrra and
 * OpenSLO v1, compiled into the same Sloth-style rules. Same normalisation. */
static void test_own_golden(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out, *args[4];
	} cases[] = {
		{"in-pyrra.yaml", "out-pyrra.yaml.tpl", {NULL}},
		{"in-openslo-v1.yaml", "out-openslo-v1.yaml.tpl", {NULL}},
	};
	int passed = 0, failed = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char inpath[1024], outpath[1024];
		snprintf(inpath, sizeof inpath, "%s/tests/slo/golden/%s", SLOD_SOURCE_DIR, cases[i].in);
		snprintf(outpath, sizeof outpath, "%s/tests/slo/golden/%s", SLOD_SOURCE_DIR, cases[i].out);
		char *argv[8] = {"generate", "-i", inpath, NULL};
		int argc = 3;
		for (size_t k = 0; cases[i].args[k]; k++)
			argv[argc++] = (char *)cases[i].args[k];
		char *out = NULL, *err = NULL;
		size_t ol, el;
		FILE *o = open_memstream(&out, &ol), *e = open_memstream(&err, &el);
		int rc = slo_cli_generate(argc, argv, o, e);
		fclose(o);
		fclose(e);
		char *tpl = slurp(outpath);
		bool ok = rc == 0 && tpl;
		if (!ok)
			printf("  %s: rc=%d %s\n", cases[i].in, rc, err ? err : "");
		if (ok) {
			char *want = expand_tpl(tpl);
			ok = compare(cases[i].out, out, want);
			free(want);
		}
		printf("%s %s\n", ok ? "PASS" : "FAIL", cases[i].out);
		ok ? passed++ : failed++;
		free(tpl);
		free(out);
		free(err);
	}
	printf("%d passed, %d failed\n", passed, failed);
	assert_int_equal(failed, 0);
}

/* Runs the generate subcommand with argv (NULL-terminated); returns rc, stdout in *out (owned). */
static int gen_argv(char **argv, char **out)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	char *err = NULL;
	size_t ol, el;
	FILE *o = open_memstream(out, &ol), *e = open_memstream(&err, &el);
	int rc = slo_cli_generate(argc, argv, o, e);
	fclose(o);
	fclose(e);
	if (rc)
		printf("generate rc=%d: %s\n", rc, err);
	free(err);
	return rc;
}

/* A plain Sloth spec as a PrometheusRule: same groups, named after the service. */
static void test_operator_output_from_plain_spec(void **state)
{
	(void)state;
	char in[1024];
	snprintf(in, sizeof in, "%s/testdata/in-base.yaml", SLO_SHARED_SLOTH_DIR);
	char *out = NULL;
	char *argv[] = {"generate", "-i", in, "--output-format", "prometheus-operator", NULL};
	assert_int_equal(gen_argv(argv, &out), 0);
	assert_non_null(strstr(out, "kind: PrometheusRule\nmetadata:\n  labels:\n"
				    "    app.kubernetes.io/component: SLO\n"
				    "    app.kubernetes.io/managed-by: sloth\n  name: svc01\nspec:\n  groups:\n"
				    "  - name: sloth-slo-sli-recordings-svc01-slo1\n"));
	assert_non_null(strstr(out, "sloth_mode: cli-gen-prom\n"));
	free(out);
}

/* Directory mode: -i DIR -o DIR writes one output per input file, each equal to generating that
 * file alone; an output that is not a directory is a usage error. */
static void test_directory_mode(void **state)
{
	(void)state;
	char in[1024], tmpl[] = "/tmp/slo_golden_XXXXXX";
	snprintf(in, sizeof in, "%s/examples/slos", SLOD_SOURCE_DIR);
	char *outdir = mkdtemp(tmpl);
	assert_non_null(outdir);
	char *out = NULL;
	char *argv[] = {"generate", "-i", in, "-o", outdir, NULL};
	assert_int_equal(gen_argv(argv, &out), 0);
	free(out);
	static const char *const files[] = {"checkout-k8s.yaml", "multi-service.yaml", "prometheus-self.yaml"};
	for (size_t i = 0; i < 3; i++) {
		char src[1200], dst[1200];
		snprintf(src, sizeof src, "%s/%s", in, files[i]);
		snprintf(dst, sizeof dst, "%s/%s", outdir, files[i]);
		char *single = NULL;
		char *argv1[] = {"generate", "-i", src, NULL};
		assert_int_equal(gen_argv(argv1, &single), 0);
		char *written = slurp(dst);
		assert_non_null(written);
		assert_string_equal(written, single);
		free(written);
		free(single);
		unlink(dst);
	}
	rmdir(outdir);
	/* A directory input needs a directory output. */
	char *argv2[] = {"generate", "-i", in, NULL};
	out = NULL;
	char *err = NULL;
	size_t ol, el;
	FILE *o = open_memstream(&out, &ol), *e = open_memstream(&err, &el);
	assert_int_equal(slo_cli_generate(3, argv2, o, e), 2);
	fclose(o);
	fclose(e);
	assert_non_null(strstr(err, "must be an existing directory"));
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sloth_golden),
		cmocka_unit_test(test_own_golden),
		cmocka_unit_test(test_directory_mode),
		cmocka_unit_test(test_operator_output_from_plain_spec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
