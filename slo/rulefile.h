/*
 * rulefile.h — Prometheus rule files (`groups: [{name, interval, limit, labels, rules: [...]}]`)
 * read into rules_group_def arrays for the rules engine (`--rule.files`). Lives in slo because slo
 * owns YAML reading; the result is plain rules-module data.
 *
 * Errors are located: "file:line:column: message". Unknown fields are errors, as in Prometheus.
 */
#ifndef SLOD_SLO_RULEFILE_H
#define SLOD_SLO_RULEFILE_H

#include <stddef.h>

#include "rules/rules.h"

typedef struct slo_rulefile slo_rulefile;

/* Parses data[0..len) named name. Returns 0 and an owned *out (groups stay valid until
 * slo_rulefile_free), or -1 with err holding every problem found ("file:line:col: msg", newline
 * separated). */
int slo_rulefile_parse(const char *name, const char *data, size_t len, slo_rulefile **out, char *err,
		       size_t errlen);
/* Reads and parses every file matching the glob pattern(s), appending to one set. Returns 0 or -1. */
int slo_rulefile_load_glob(slo_rulefile **set, const char *pattern, char *err, size_t errlen);
/* The groups of the set (all files, in load order). */
const rules_group_def *slo_rulefile_groups(const slo_rulefile *f, size_t *n);
void slo_rulefile_free(slo_rulefile *f);

#endif
