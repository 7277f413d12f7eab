/*
 * fuzz_slo_yaml.c — libFuzzer target for the slo module's YAML loading path: bounded YAML reader,
 * spec mapping (Sloth, CRD, OpenSLO), AlertWindows catalogs, validation (incl. PromQL parsing of
 * the queries) and rule generation for whatever loaded. Any crash, leak or sanitizer report is a
 * bug; rejections are fine.
 */
#include <stddef.h>
#include <stdint.h>

#include "slo/slo.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	slo_set *s = slo_set_new();
	if (!s)
		return 0;
	/* The same bytes as an AlertWindows catalog (replaces the defaults only if one loads). */
	slo_load_windows_buffer(s, "fuzz-windows.yaml", (const char *)data, size);
	slo_load_buffer(s, "fuzz.yaml", (const char *)data, size);
	slo_gen_options opt = {0};
	int verrs = slo_validate(s, &opt);
	/* Generation must be safe even for groups that did not validate (it refuses incomplete SLOs). */
	(void)verrs;
	{
		const slo_group *g;
		size_t n = slo_set_groups(s, &g);
		for (size_t i = 0; i < n; i++) {
			buf b;
			char err[256];
			buf_init(&b, 64u << 20);
			slo_generate(s, &g[i], &opt, &b, err, sizeof err);
			opt.output_format = SLO_OUTPUT_PROMETHEUS_OPERATOR;
			slo_generate(s, &g[i], &opt, &b, err, sizeof err);
			opt.output_format = SLO_OUTPUT_AUTO;
			buf_deinit(&b);
		}
	}
	const slo_diag *d;
	size_t nd = slo_set_diags(s, &d);
	for (size_t i = 0; i < nd; i++) {
		char line[256];
		slo_diag_format(&d[i], line, sizeof line);
	}
	slo_set_free(s);
	return 0;
}
