/*
 * slo_cli.c — `slod validate` and `slod generate`: flag parsing (Sloth's names, both "--flag value"
 * and "--flag=value"), loading, validation, diagnostics and writing the rule files.
 *
 * The CLI is the one place in the module that prints, and only to the FILE streams it is handed.
 * Cost: dominated by loading and validation (linear in the input).
 */
#include "slo/slo_cli.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "slo/slo.h"
#include "util/fmt.h"

#define MAX_EXTRA_LABELS 64

typedef struct cli {
	const char *input, *output, *windows_path, *exclude, *include;
	regex_t exclude_re, include_re;
	bool have_exclude, have_include;
	slo_gen_options opt;
	slo_label extra[MAX_EXTRA_LABELS];
	size_t n_extra;
} cli;

static void usage(FILE *err, const char *cmd)
{
	if (strcmp(cmd, "generate") == 0)
		fprintf(err, "usage: slod generate -i PATH [-o PATH] [--default-slo-period 30d] [--slo-period-windows-path DIR]\n"
			     "                     [-l k=v ...] [--disable-alerts] [--disable-recordings]\n"
			     "                     [--output-format prometheus|prometheus-operator] [-e REGEX] [-n REGEX]\n");
	else
		fprintf(err, "usage: slod validate -i PATH [--default-slo-period 30d] [--slo-period-windows-path DIR]\n"
			     "                     [--ignore-slo-duplicates] [-e REGEX] [-n REGEX]\n");
}

/* Returns 0, or 2 after printing a usage error. */
static int parse_args(cli *c, int argc, char **argv, FILE *err, bool gen)
{
	const char *cmd = argc > 0 ? argv[0] : (gen ? "generate" : "validate");
	memset(c, 0, sizeof *c);
	c->output = "-";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		char name[64];
		const char *eq = NULL;
		if (strncmp(a, "--", 2) == 0 && (eq = strchr(a, '=')) != NULL) {
			size_t n = (size_t)(eq - a);
			if (n >= sizeof name)
				n = sizeof name - 1;
			memcpy(name, a, n);
			name[n] = 0;
			val = eq + 1;
		} else if (a[0] == '-' && a[1] && a[1] != '-' && a[2]) {
			/* -ivalue */
			name[0] = '-';
			name[1] = a[1];
			name[2] = 0;
			val = a + 2;
		} else {
			snprintf(name, sizeof name, "%s", a);
		}
		bool takes = strcmp(name, "-i") == 0 || strcmp(name, "--input") == 0 || strcmp(name, "-o") == 0 ||
			     strcmp(name, "--out") == 0 || strcmp(name, "-l") == 0 || strcmp(name, "--extra-labels") == 0 ||
			     strcmp(name, "--default-slo-period") == 0 || strcmp(name, "--slo-period-windows-path") == 0 ||
			     strcmp(name, "--output-format") == 0 || strcmp(name, "-e") == 0 || strcmp(name, "--fs-exclude") == 0 ||
			     strcmp(name, "-n") == 0 || strcmp(name, "--fs-include") == 0;
		if (takes && !val) {
			if (i + 1 >= argc) {
				fprintf(err, "slod %s: flag %s needs a value\n", cmd, name);
				usage(err, cmd);
				return 2;
			}
			val = argv[++i];
		}
		if (strcmp(name, "-i") == 0 || strcmp(name, "--input") == 0) {
			c->input = val;
		} else if (gen && (strcmp(name, "-o") == 0 || strcmp(name, "--out") == 0)) {
			c->output = val;
		} else if (strcmp(name, "-l") == 0 || strcmp(name, "--extra-labels") == 0) {
			const char *e = strchr(val, '=');
			if (!e || e == val) {
				fprintf(err, "slod %s: extra label %s must be key=value\n", cmd, val);
				return 2;
			}
			if (c->n_extra == MAX_EXTRA_LABELS) {
				fprintf(err, "slod %s: too many extra labels\n", cmd);
				return 2;
			}
			/* argv strings outlive the call; split into a static-size copy per label. */
			size_t kl = (size_t)(e - val);
			char *k = malloc(kl + 1);
			if (!k)
				return 2;
			memcpy(k, val, kl);
			k[kl] = 0;
			/* A later -l for the same key replaces the earlier one, as a Go map would. */
			size_t j;
			for (j = 0; j < c->n_extra; j++)
				if (strcmp(c->extra[j].name, k) == 0)
					break;
			if (j < c->n_extra) {
				free((char *)c->extra[j].name);
			} else {
				j = c->n_extra++;
			}
			c->extra[j].name = k;
			c->extra[j].value = e + 1;
		} else if (strcmp(name, "--default-slo-period") == 0) {
			if (slod_parse_duration_ms(val, strlen(val), &c->opt.default_period_ms) != 0 || c->opt.default_period_ms <= 0) {
				fprintf(err, "slod %s: invalid SLO period duration \"%s\"\n", cmd, val);
				return 2;
			}
		} else if (strcmp(name, "-e") == 0 || strcmp(name, "--fs-exclude") == 0) {
			c->exclude = val;
		} else if (strcmp(name, "-n") == 0 || strcmp(name, "--fs-include") == 0) {
			c->include = val;
		} else if (!gen && strcmp(name, "--ignore-slo-duplicates") == 0) {
			c->opt.ignore_duplicates = true;
		} else if (strcmp(name, "--slo-period-windows-path") == 0) {
			c->windows_path = val;
		} else if (gen && strcmp(name, "--disable-alerts") == 0) {
			c->opt.disable_alerts = true;
		} else if (gen && strcmp(name, "--disable-recordings") == 0) {
			c->opt.disable_recordings = true;
		} else if (gen && strcmp(name, "--output-format") == 0) {
			if (strcmp(val, "prometheus") == 0)
				c->opt.output_format = SLO_OUTPUT_PROMETHEUS;
			else if (strcmp(val, "prometheus-operator") == 0 || strcmp(val, "k8s") == 0)
				c->opt.output_format = SLO_OUTPUT_PROMETHEUS_OPERATOR;
			else if (strcmp(val, "auto") == 0)
				c->opt.output_format = SLO_OUTPUT_AUTO;
			else {
				fprintf(err, "slod %s: unknown output format \"%s\" (prometheus or prometheus-operator)\n", cmd, val);
				return 2;
			}
		} else if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
			usage(err, cmd);
			return 2;
		} else {
			fprintf(err, "slod %s: unknown flag %s\n", cmd, a);
			usage(err, cmd);
			return 2;
		}
	}
	if (!c->input) {
		fprintf(err, "slod %s: -i PATH is required\n", cmd);
		usage(err, cmd);
		return 2;
	}
	if (c->exclude) {
		if (regcomp(&c->exclude_re, c->exclude, REG_EXTENDED | REG_NOSUB) != 0) {
			fprintf(err, "slod %s: invalid exclude regex \"%s\"\n", cmd, c->exclude);
			return 2;
		}
		c->have_exclude = true;
	}
	if (c->include) {
		if (regcomp(&c->include_re, c->include, REG_EXTENDED | REG_NOSUB) != 0) {
			fprintf(err, "slod %s: invalid include regex \"%s\"\n", cmd, c->include);
			return 2;
		}
		c->have_include = true;
	}
	c->opt.extra_labels = c->extra;
	c->opt.n_extra_labels = c->n_extra;
	return 0;
}

/* Sloth's discovery filter: exclude wins over include. */
static bool accept_path(const char *path, void *ud)
{
	const cli *c = ud;
	if (c->have_exclude && regexec(&c->exclude_re, path, 0, NULL, 0) == 0)
		return false;
	if (c->have_include && regexec(&c->include_re, path, 0, NULL, 0) != 0)
		return false;
	return true;
}

static void free_cli(cli *c)
{
	if (c->have_exclude)
		regfree(&c->exclude_re);
	if (c->have_include)
		regfree(&c->include_re);
	for (size_t i = 0; i < c->n_extra; i++)
		free((char *)c->extra[i].name);
}

static void print_diags(const slo_set *s, FILE *err)
{
	const slo_diag *d;
	size_t n = slo_set_diags(s, &d);
	for (size_t i = 0; i < n; i++) {
		char line[2048];
		slo_diag_format(&d[i], line, sizeof line);
		fprintf(err, "%s\n", line);
	}
}

/* Loads and validates. Returns 0 (valid), 1 (invalid), 2 (I/O or memory). */
static int load_validate(cli *c, slo_set *s, FILE *err)
{
	int rc = 0;
	if (c->windows_path) {
		int r = slo_load_windows_path(s, c->windows_path);
		if (r == SLO_ERR_NOMEM || r == SLO_ERR_IO)
			rc = 2;
		else if (r)
			rc = 1;
	}
	int r = slo_load_path_filtered(s, c->input, accept_path, c);
	if (r == SLO_ERR_NOMEM || (r == SLO_ERR_IO && slo_set_error_count(s) == 1)) {
		print_diags(s, err);
		return 2;
	}
	const slo_group *g;
	if (slo_set_groups(s, &g) == 0 && slo_set_error_count(s) == 0) {
		print_diags(s, err);
		fprintf(err, "slod: 0 SLO specs have been discovered in %s\n", c->input);
		return 1;
	}
	int nerr = slo_validate(s, &c->opt);
	print_diags(s, err);
	if (nerr < 0)
		return 2;
	if (rc)
		return rc;
	return slo_set_error_count(s) ? 1 : 0;
}

int slo_cli_validate(int argc, char **argv, FILE *out, FILE *err)
{
	cli c;
	int rc = parse_args(&c, argc, argv, err, false);
	if (rc) {
		free_cli(&c);
		return rc;
	}
	slo_set *s = slo_set_new();
	if (!s) {
		free_cli(&c);
		return 2;
	}
	rc = load_validate(&c, s, err);
	const slo_group *g;
	size_t ng = slo_set_groups(s, &g), nslo = 0, nwarn = 0;
	for (size_t i = 0; i < ng; i++)
		nslo += g[i].n_slos;
	const slo_diag *d;
	size_t nd = slo_set_diags(s, &d);
	for (size_t i = 0; i < nd; i++)
		nwarn += d[i].severity == SLO_DIAG_WARNING;
	if (rc == 0)
		fprintf(out, "validation succeeded: %zu SLO specs, %zu SLOs, %zu warnings\n", ng, nslo, nwarn);
	else if (rc == 1 && slo_set_error_count(s))
		fprintf(err, "validation failed: %zu errors, %zu warnings\n", slo_set_error_count(s), nwarn);
	slo_set_free(s);
	free_cli(&c);
	return rc;
}

static int mkdirs(const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	return 0;
}

static int write_file(const char *path, const buf *b, FILE *err)
{
	if (mkdirs(path) != 0) {
		fprintf(err, "slod generate: cannot create directories for %s: %s\n", path, strerror(errno));
		return 2;
	}
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(err, "slod generate: cannot create %s: %s\n", path, strerror(errno));
		return 2;
	}
	size_t w = b->len ? fwrite(b->data, 1, b->len, f) : 0;
	int bad = w != b->len;
	if (fclose(f) != 0)
		bad = 1;
	if (bad) {
		fprintf(err, "slod generate: cannot write %s\n", path);
		return 2;
	}
	return 0;
}

int slo_cli_generate(int argc, char **argv, FILE *out, FILE *err)
{
	cli c;
	int rc = parse_args(&c, argc, argv, err, true);
	if (rc) {
		free_cli(&c);
		return rc;
	}
	slo_set *s = NULL;
	buf b;
	buf_init(&b, 0);
	struct stat st;
	bool dir_in = stat(c.input, &st) == 0 && S_ISDIR(st.st_mode);
	if (dir_in) {
		struct stat ost;
		if (strcmp(c.output, "-") == 0 || stat(c.output, &ost) != 0 || !S_ISDIR(ost.st_mode)) {
			fprintf(err, "slod generate: the input %s is a directory, so -o must be an existing directory\n", c.input);
			rc = 2;
			goto out;
		}
	}
	s = slo_set_new();
	if (!s) {
		rc = 2;
		goto out;
	}
	rc = load_validate(&c, s, err);
	if (rc) {
		if (rc == 1)
			fprintf(err, "generation failed: the SLO specs have %zu errors\n", slo_set_error_count(s));
		goto out;
	}
	const slo_group *g;
	size_t ng = slo_set_groups(s, &g);
	if (ng == 0) {
		fprintf(err, "slod generate: 0 SLO specs have been discovered in %s\n", c.input);
		rc = 1;
		goto out;
	}
	char emsg[512];
	const char *cur_file = NULL;
	for (size_t i = 0; i <= ng; i++) {
		/* Directory mode: flush the buffer whenever the source file changes. */
		const char *f = i < ng ? g[i].pos.file : NULL;
		if (dir_in && cur_file && (!f || strcmp(f, cur_file) != 0)) {
			const char *rel = cur_file + strlen(c.input);
			while (*rel == '/')
				rel++;
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", c.output, rel);
			if ((rc = write_file(path, &b, err)) != 0)
				goto out;
			buf_reset(&b);
		}
		if (i == ng)
			break;
		cur_file = f;
		int r = slo_generate(s, &g[i], &c.opt, &b, emsg, sizeof emsg);
		if (r) {
			fprintf(err, "%s:%u:%u: could not generate: %s\n", g[i].pos.file, g[i].pos.line, g[i].pos.col, emsg);
			rc = r == SLO_ERR_NOMEM ? 2 : 1;
			goto out;
		}
	}
	if (!dir_in) {
		if (strcmp(c.output, "-") == 0) {
			if (b.len && fwrite(b.data, 1, b.len, out) != b.len)
				rc = 2;
			fflush(out);
		} else {
			rc = write_file(c.output, &b, err);
		}
	}
out:
	buf_deinit(&b);
	slo_set_free(s);
	free_cli(&c);
	return rc;
}
