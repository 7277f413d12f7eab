/*
 * cmd_grafana.c — `slod grafana-dashboard`: writes the Grafana dashboards that ship with slod.
 *
 *   slod grafana-dashboard [--dashboard overview|detail|all] [-o|--output DIR]
 *
 * The dashboards are examples/grafana/slo-overview.json and slo-detail.json, embedded at build time
 * as the web assets /ui/grafana/<file> (web/CMakeLists.txt), so the binary, the page's download
 * links and the repository always hold the same bytes. Both dashboards select their data source
 * with a `datasource` variable and read only Sloth-named series (slo:*, sloth_slo_info, ALERTS),
 * so they work against slod itself and against a Prometheus running `slod generate`'s rules.
 *
 * Without --output one dashboard (default: overview) goes to `out`; --dashboard=all needs
 * --output. With --output DIR (created if missing, parents must exist) each chosen dashboard is
 * written to DIR/<file> through a temporary file and rename(), and its path is printed.
 * Exit codes: 0 done, 1 I/O failure (nothing half-written is left behind), 2 usage error.
 * Cost: one write per dashboard (~20 KiB each).
 */
#include "main/cmd_grafana.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "web/assets.h"

typedef struct dash {
	const char *name;  /* --dashboard value */
	const char *file;  /* file name in examples/grafana/ and under --output */
	const char *asset; /* web asset path */
} dash;

static const dash dashes[] = {
    {"overview", "slo-overview.json", "/ui/grafana/slo-overview.json"},
    {"detail", "slo-detail.json", "/ui/grafana/slo-detail.json"},
};
#define N_DASHES (sizeof dashes / sizeof dashes[0])

static const char usage[] =
    "usage: slod grafana-dashboard [--dashboard overview|detail|all] [-o|--output DIR]\n"
    "\n"
    "Writes slod's Grafana dashboards (an SLO overview and a per-SLO detail). Import them in Grafana\n"
    "and pick the data source in the `datasource` variable: slod itself (a Prometheus data source\n"
    "pointing at slod's address) or a Prometheus that runs the rules `slod generate` exports.\n"
    "\n"
    "  --dashboard NAME   overview, detail or all (default: overview on stdout, all with --output)\n"
    "  -o, --output DIR   write <DIR>/slo-overview.json and/or <DIR>/slo-detail.json (DIR is created)\n"
    "  -h, --help         show this help\n";

/* Writes one asset to dir/file via dir/.file.tmp + rename. Returns 0 or -1 (message on err). */
static int write_one(const char *dir, const dash *d, FILE *out, FILE *err)
{
	const web_asset *a = web_asset_find(d->asset);
	if (!a) {
		fprintf(err, "slod grafana-dashboard: %s is not embedded in this build\n", d->file);
		return -1;
	}
	size_t n = strlen(dir) + strlen(d->file) + 8;
	char *path = malloc(n), *tmp = malloc(n);
	int rc = -1;
	FILE *f = NULL;
	if (!path || !tmp) {
		fprintf(err, "slod grafana-dashboard: out of memory\n");
		goto out;
	}
	snprintf(path, n, "%s/%s", dir, d->file);
	snprintf(tmp, n, "%s/.%s.tmp", dir, d->file);
	f = fopen(tmp, "wb");
	if (!f) {
		fprintf(err, "slod grafana-dashboard: %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	if (fwrite(a->data, 1, a->len, f) != a->len || fflush(f) != 0) {
		fprintf(err, "slod grafana-dashboard: writing %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		fprintf(err, "slod grafana-dashboard: writing %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) != 0) {
		fprintf(err, "slod grafana-dashboard: %s: %s\n", path, strerror(errno));
		goto out;
	}
	fprintf(out, "%s\n", path);
	rc = 0;
out:
	if (f)
		fclose(f);
	if (rc != 0 && tmp)
		unlink(tmp);
	free(path);
	free(tmp);
	return rc;
}

/* "--name=value" or "--name value" / "-o value": sets *val and advances *i. */
static bool flag_value(int argc, char **argv, int *i, const char *lng, const char *shrt, const char **val)
{
	const char *a = argv[*i];
	size_t ln = strlen(lng);
	if (strncmp(a, lng, ln) == 0 && a[ln] == '=') {
		*val = a + ln + 1;
		return true;
	}
	if (strcmp(a, lng) == 0 || (shrt && strcmp(a, shrt) == 0)) {
		*val = *i + 1 < argc ? argv[++*i] : NULL;
		return true;
	}
	return false;
}

int main_cmd_grafana(int argc, char **argv, FILE *out, FILE *err)
{
	const char *dir = NULL, *which = NULL;
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, out);
			return 0;
		} else if (flag_value(argc, argv, &i, "--output", "-o", &v)) {
			if (!v || !*v) {
				fprintf(err, "slod grafana-dashboard: --output needs a directory\n\n%s",
					usage);
				return 2;
			}
			dir = v;
		} else if (flag_value(argc, argv, &i, "--dashboard", NULL, &v)) {
			if (!v || (strcmp(v, "all") != 0 && strcmp(v, "overview") != 0 &&
				   strcmp(v, "detail") != 0)) {
				fprintf(err,
					"slod grafana-dashboard: --dashboard must be overview, detail or "
					"all\n\n%s",
					usage);
				return 2;
			}
			which = v;
		} else {
			fprintf(err, "slod grafana-dashboard: unknown argument \"%s\"\n\n%s", argv[i], usage);
			return 2;
		}
	}
	if (!dir) {
		if (which && strcmp(which, "all") == 0) {
			fprintf(err, "slod grafana-dashboard: --dashboard=all needs --output DIR\n\n%s",
				usage);
			return 2;
		}
		const dash *d = &dashes[which && strcmp(which, "detail") == 0 ? 1 : 0];
		const web_asset *a = web_asset_find(d->asset);
		if (!a) {
			fprintf(err, "slod grafana-dashboard: %s is not embedded in this build\n", d->file);
			return 1;
		}
		if (fwrite(a->data, 1, a->len, out) != a->len || fflush(out) != 0) {
			fprintf(err, "slod grafana-dashboard: writing: %s\n", strerror(errno));
			return 1;
		}
		return 0;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(err, "slod grafana-dashboard: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (size_t k = 0; k < N_DASHES; k++) {
		if (which && strcmp(which, "all") != 0 && strcmp(which, dashes[k].name) != 0)
			continue;
		if (write_one(dir, &dashes[k], out, err) != 0)
			return 1;
	}
	return 0;
}
