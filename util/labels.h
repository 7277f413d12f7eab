/*
 * labels.h — label sets as sorted arrays of (name, value) string pairs.
 *
 * A slod_labels borrows its strings: who owns them (the TSDB's intern table, a query arena, a
 * parse arena) is said by whoever hands the set out. Canonical form: sorted by name (strcmp),
 * names unique, no empty values (an empty value means "label absent" in Prometheus).
 * Ordering between sets follows Prometheus's labels.Compare.
 */
#ifndef SLOD_UTIL_LABELS_H
#define SLOD_UTIL_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define SLOD_METRIC_NAME "__name__"

typedef struct slod_label {
	const char *name;
	const char *value;
} slod_label;

typedef struct slod_labels {
	slod_label *v;
	size_t n;
} slod_labels;

/* Sorts by name in place (insertion sort: sets are small). */
void labels_sort(slod_labels *ls);
/* Index of the first pair whose name repeats its predecessor after sorting, or -1. */
long labels_find_duplicate(const slod_labels *ls);
/* Prometheus labels.Compare: pairwise by name then value, then by length. */
int labels_cmp(const slod_labels *a, const slod_labels *b);
bool labels_equal(const slod_labels *a, const slod_labels *b);
/* 64-bit hash of the canonical form (XXH3 over name 0xff value 0xff ...). */
uint64_t labels_hash(const slod_labels *ls);
/* Value of name, or NULL. */
const char *labels_get(const slod_labels *ls, const char *name);
/* Appends `{a="b", c="d"}` with Go-style escaping of values (Prometheus labels.String()). */
int labels_format(const slod_labels *ls, buf *out);
/* Appends `name{a="b"}` with __name__ hoisted out, as the PromQL test files and promtool print. */
int labels_format_metric(const slod_labels *ls, buf *out);
/* Deep copy of src in ONE heap allocation (array and strings); free with labels_free_dup.
 * Returns 0 or -1 (out of memory; *dst left empty). */
int labels_dup(slod_labels *dst, const slod_labels *src);
void labels_free_dup(slod_labels *ls);
/* Prometheus label name rule [a-zA-Z_][a-zA-Z0-9_]* (legacy validation). */
bool labels_valid_name(const char *s, size_t n);
/* Metric name rule [a-zA-Z_:][a-zA-Z0-9_:]*. */
bool labels_valid_metric_name(const char *s, size_t n);
/* True if s[0..n) is valid UTF-8. */
bool slod_utf8_valid(const char *s, size_t n);

#endif
