/*
 * test_yaml.c — slo.yaml: the bounded YAML reader rejects hostile input quickly (deep nesting,
 * alias bombs, huge scalars, huge files, too many documents or nodes) with a located message, and
 * the yaml.v2-style emitter picks the same scalar styles and line folding as Go's yaml.v2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "slo/slo.h"
#include "slo/slo_int.h"
#include "util/buf.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Loads text; expects rejection whose first diagnostic contains want; returns seconds taken. */
static double expect_reject(const char *text, size_t len, const char *want)
{
	slo_set *s = slo_set_new();
	assert_non_null(s);
	double t0 = now_s();
	int rc = slo_load_buffer(s, "h.yaml", text, len);
	double dt = now_s() - t0;
	const slo_diag *d;
	size_t n = slo_set_diags(s, &d);
	if (rc != SLO_ERR_INVALID || n == 0 || !strstr(d[0].msg, want))
		printf("rc=%d n=%zu msg=%s (want %s)\n", rc, n, n ? d[0].msg : "", want);
	assert_int_equal(rc, SLO_ERR_INVALID);
	assert_true(n >= 1);
	assert_non_null(strstr(d[0].msg, want));
	slo_set_free(s);
	return dt;
}

static void test_deep_nesting(void **state)
{
	(void)state;
	size_t n = 200000;
	char *t = malloc(n + 1);
	memset(t, '[', n);
	t[n] = 0;
	double dt = expect_reject(t, n, "nesting too deep");
	assert_true(dt < 2.0);
	/* Block-style nesting too: "a:\n a:\n  a: ..." */
	buf b;
	buf_init(&b, 0);
	for (int i = 0; i < 200; i++) {
		for (int k = 0; k < i; k++)
			buf_putc(&b, ' ');
		buf_puts(&b, "a:\n");
	}
	expect_reject(b.data, b.len, "nesting too deep");
	buf_deinit(&b);
	free(t);
}

static void test_alias_bomb(void **state)
{
	(void)state;
	static const char bomb[] = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
				   "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
				   "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
				   "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
				   "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
				   "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
				   "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
				   "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
				   "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
	double dt = expect_reject(bomb, sizeof bomb - 1, "aliases");
	assert_true(dt < 0.5);
	/* The message is located at the first alias. */
	slo_set *s = slo_set_new();
	slo_load_buffer(s, "h.yaml", bomb, sizeof bomb - 1);
	const slo_diag *d;
	assert_true(slo_set_diags(s, &d) >= 1);
	assert_int_equal(d[0].pos.line, 2);
	assert_int_equal(d[0].pos.col, 8);
	slo_set_free(s);
}

static void test_huge_scalar_and_file(void **state)
{
	(void)state;
	size_t n = (2u << 20) + 16;
	char *t = malloc(n + 1);
	memcpy(t, "service: ", 9);
	memset(t + 9, 'x', n - 10);
	t[n - 1] = '\n';
	t[n] = 0;
	double dt = expect_reject(t, n, "scalar too long");
	assert_true(dt < 2.0);
	free(t);

	n = (9u << 20);
	t = malloc(n);
	memset(t, '#', n);
	dt = expect_reject(t, n, "file too large");
	assert_true(dt < 0.1);
	free(t);
}

static void test_too_many_docs_and_nodes(void **state)
{
	(void)state;
	buf b;
	buf_init(&b, 0);
	for (int i = 0; i < 20000; i++)
		buf_puts(&b, "--- 1\n");
	expect_reject(b.data, b.len, "too many YAML documents");
	buf_reset(&b);
	buf_puts(&b, "a: [");
	for (int i = 0; i < 250000; i++)
		buf_puts(&b, "1,");
	buf_puts(&b, "1]\n");
	double dt = expect_reject(b.data, b.len, "too many YAML nodes");
	assert_true(dt < 2.0);
	buf_deinit(&b);
}

static void test_load_bounds(void **state)
{
	(void)state;
	/* The per-load bound on files: examples/slos holds 3 specs; allow 2. */
	slo_set *s = slo_set_new();
	s->max_files = 2;
	char path[1024];
	snprintf(path, sizeof path, "%s/examples/slos", SLOD_SOURCE_DIR);
	assert_int_equal(slo_load_path(s, path), SLO_ERR_INVALID);
	const slo_diag *d;
	size_t n = slo_set_diags(s, &d);
	assert_true(n >= 1);
	assert_non_null(strstr(d[n - 1].msg, "too many SLO files or bytes"));
	slo_set_free(s);
	/* And on bytes. */
	s = slo_set_new();
	s->max_total_input = 1;
	assert_int_equal(slo_load_path(s, path), SLO_ERR_INVALID);
	slo_set_free(s);
}

static void test_syntax_errors_located(void **state)
{
	(void)state;
	static const char bad[] = "version: \"prometheus/v1\"\nslos:\n  - name: \"x\n";
	expect_reject(bad, sizeof bad - 1, "YAML syntax error");
	static const char tab[] = "a:\n\tb: 1\n";
	expect_reject(tab, sizeof tab - 1, "YAML syntax error");
	static const char complex_key[] = "? [a, b]\n: c\n";
	expect_reject(complex_key, sizeof complex_key - 1, "complex YAML keys");
}

/* ---- emitter ---------------------------------------------------------------------------------- */

static char *emit_kv(const char *key, const char *val)
{
	arena a;
	arena_init(&a, 0);
	slo__enode *m = slo__e_map(&a, false);
	slo__e_put(&a, m, key, slo__e_str(&a, val));
	buf b;
	buf_init(&b, 0);
	assert_int_equal(slo__e_emit(m, &b), 0);
	arena_deinit(&a);
	return buf_steal(&b);
}

static void test_emitter_scalar_styles(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"plain", "k: plain\n"},
		{"true", "k: \"true\"\n"},
		{"99.9", "k: \"99.9\"\n"},
		{"0x1F", "k: \"0x1F\"\n"},
		{"1e3", "k: \"1e3\"\n"},
		{"2024-01-02", "k: \"2024-01-02\"\n"},
		{"1:20", "k: \"1:20\"\n"},
		{"", "k: \"\"\n"},
		{"~", "k: \"~\"\n"},
		{"a: b", "k: 'a: b'\n"},
		{"a:b", "k: a:b\n"},
		{"- x", "k: '- x'\n"},
		{"-x", "k: -x\n"},
		{"#x", "k: '#x'\n"},
		{"x #y", "k: 'x #y'\n"},
		{"x#y", "k: x#y\n"},
		{"{x}", "k: '{x}'\n"},
		{"it's", "k: it's\n"},
		{"'q'", "k: '''q'''\n"},
		{" lead", "k: ' lead'\n"},
		{"trail ", "k: 'trail '\n"},
		{"tab\there", "k: \"tab\\there\"\n"},
		{"a\nb", "k: |-\n  a\n  b\n"},
		{"a\nb\n", "k: |\n  a\n  b\n"},
		{"a\n\nb\n", "k: |\n  a\n\n  b\n"},
		{" a\nb", "k: |2-\n   a\n  b\n"},
		{"a \nb", "k: \"a \\nb\"\n"},
		{"---", "k: '---'\n"},
		{"vector(1)", "k: vector(1)\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = emit_kv("k", cases[i].in);
		if (strcmp(got, cases[i].out) != 0)
			printf("in=[%s]\nwant=[%s]\ngot =[%s]\n", cases[i].in, cases[i].out, got);
		assert_string_equal(got, cases[i].out);
		free(got);
	}
}

static void test_emitter_folding_and_structure(void **state)
{
	(void)state;
	/* yaml.v2 folds at the first space past column 80, continuation indented by 2. */
	char *got = emit_kv("expr", "1 - slo:period_burn_rate:ratio{sloth_id=\"svc01-slo1\", sloth_service=\"svc01\", "
				    "sloth_slo=\"slo1\"}");
	assert_string_equal(got, "expr: 1 - slo:period_burn_rate:ratio{sloth_id=\"svc01-slo1\", sloth_service=\"svc01\",\n"
				 "  sloth_slo=\"slo1\"}\n");
	free(got);

	arena a;
	arena_init(&a, 0);
	slo__enode *root = slo__e_map(&a, false), *seq = slo__e_seq(&a), *item = slo__e_map(&a, true);
	slo__enode *labels = slo__e_map(&a, true);
	slo__e_put(&a, labels, "b10", slo__e_str(&a, "x"));
	slo__e_put(&a, labels, "b9", slo__e_str(&a, "y"));
	slo__e_put(&a, labels, "a_b", slo__e_str(&a, "z"));
	slo__e_put(&a, item, "name", slo__e_str(&a, "g"));
	slo__e_put(&a, item, "labels", labels);
	slo__e_put(&a, item, "empty", slo__e_map(&a, false));
	slo__e_push(&a, seq, item);
	slo__e_put(&a, root, "groups", seq);
	buf b;
	buf_init(&b, 0);
	assert_int_equal(slo__e_emit(root, &b), 0);
	/* Sorted keys, natural order (b9 < b10), indentless sequence, "{}" for an empty map. */
	assert_string_equal(b.data, "groups:\n- empty: {}\n  labels:\n    a_b: z\n    b9: \"y\"\n    b10: x\n  name: g\n");
	buf_deinit(&b);
	arena_deinit(&a);

	assert_true(slo__e_key_less("alert01k1", "alert02k1"));
	assert_true(slo__e_key_less("a9", "a10"));
	assert_false(slo__e_key_less("a10", "a9"));
	assert_true(slo__e_key_less("sloth_id", "sloth_service"));
	assert_true(slo__e_key_less("a_", "aB")); /* a non-letter sorts before a letter */
}

static size_t unhex(const char *h, size_t hl, char *out)
{
	size_t n = hl / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (char)v;
	}
	out[n] = 0;
	return n;
}

/* Differential test against Go's yaml.v2 (the library Sloth writes its rule files with): every
 * vector's input, emitted by slo/emit.c in the same context, must give yaml.v2's exact bytes. */
static void test_emitter_matches_yaml_v2_vectors(void **state)
{
	(void)state;
	char path[1024];
	snprintf(path, sizeof path, "%s/tests/slo/golden/yaml_v2_vectors.txt", SLOD_SOURCE_DIR);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char line[1 << 16], in[1 << 15], want[1 << 15];
	int total = 0, bad = 0;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		int ctx = line[0] - '0';
		char *hin = line + 2, *sp = strchr(hin, ' ');
		assert_non_null(sp);
		char *hout = sp + 1;
		size_t hol = strcspn(hout, "\n");
		size_t inl = unhex(hin, (size_t)(sp - hin), in);
		unhex(hout, hol, want);
		if (strlen(in) != inl)
			continue; /* NUL inside: not representable as a C string */
		arena a;
		arena_init(&a, 0);
		slo__enode *root;
		if (ctx == 0) {
			root = slo__e_map(&a, true);
			slo__e_put(&a, root, "k", slo__e_str(&a, in));
		} else if (ctx == 1) {
			root = slo__e_map(&a, false);
			slo__enode *gs = slo__e_seq(&a), *g = slo__e_map(&a, false), *rs = slo__e_seq(&a);
			slo__enode *r = slo__e_map(&a, false), *l = slo__e_map(&a, true);
			slo__e_put(&a, l, "a", slo__e_str(&a, in));
			slo__e_put(&a, r, "record", slo__e_str(&a, "r"));
			slo__e_put(&a, r, "expr", slo__e_str(&a, in));
			slo__e_put(&a, r, "labels", l);
			slo__e_push(&a, rs, r);
			slo__e_put(&a, g, "name", slo__e_str(&a, "g"));
			slo__e_put(&a, g, "rules", rs);
			slo__e_push(&a, gs, g);
			slo__e_put(&a, root, "groups", gs);
		} else if (ctx == 2) {
			root = slo__e_map(&a, true);
			slo__e_put(&a, root, in, slo__e_str(&a, "v"));
		} else {
			root = slo__e_seq(&a);
			slo__e_push(&a, root, slo__e_str(&a, in));
		}
		buf b;
		buf_init(&b, 0);
		assert_int_equal(slo__e_emit(root, &b), 0);
		total++;
		if (strcmp(b.data ? b.data : "", want) != 0) {
			if (bad < 5)
				printf("ctx %d input [%s]\nwant [%s]\ngot  [%s]\n", ctx, in, want, b.data ? b.data : "");
			bad++;
		}
		buf_deinit(&b);
		arena_deinit(&a);
	}
	fclose(f);
	printf("yaml.v2 vectors: %d passed, %d failed\n", total - bad, bad);
	assert_true(total > 900);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_huge_scalar_and_file),
		cmocka_unit_test(test_too_many_docs_and_nodes),
		cmocka_unit_test(test_syntax_errors_located),
		cmocka_unit_test(test_load_bounds),
		cmocka_unit_test(test_emitter_scalar_styles),
		cmocka_unit_test(test_emitter_folding_and_structure),
		cmocka_unit_test(test_emitter_matches_yaml_v2_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
