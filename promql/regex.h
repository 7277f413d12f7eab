/*
 * regex.h — PromQL regular expressions (internal to the promql module): RE2 syntax, fully
 * anchored, compiled with PCRE2 (JIT when available) as ^(?:pattern)$ with DOTALL (in Prometheus 3
 * `.` matches a newline) and UTF mode. Constructs RE2 rejects (backreferences, lookaround,
 * possessive quantifiers, atomic groups, \C, recursion, conditionals, callouts, ...) are refused
 * with a message.
 *
 * A compiled promql_regex lives in an arena: its PCRE2 code is freed by an arena cleanup
 * (arena_on_release), so it lasts exactly as long as the parse/query that made it.
 * Matching is reentrant (per-call match data), so one regex may be used by many threads.
 * Fast paths: literal patterns compare bytes, ".*" matches everything, ".+" anything non-empty.
 */
#ifndef SLOD_PROMQL_REGEX_H
#define SLOD_PROMQL_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#include "util/arena.h"

typedef struct promql_regex promql_regex;

/* Compiles pattern[0..len) in a. Returns 0 and *out, -1 with a message in err (e.g.
 * "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"), or -2 on OOM. */
int promql_regex_compile(const char *pattern, size_t len, arena *a, promql_regex **out, char *err,
			 size_t errlen);
/* The same for label matchers, which only ever call promql_regex_match(): simple patterns
 * (literal alternations with optional leading/trailing .*) get no PCRE2 code at all, so
 * promql_regex_match_groups/group_count/group_index must not be used on the result. */
int promql_regex_compile_matcher(const char *pattern, size_t len, arena *a, promql_regex **out, char *err,
				 size_t errlen);
/* Whole-string match; the signature of tsdb_matcher.re_match (re is a promql_regex *). */
bool promql_regex_match(void *re, const char *s, size_t len);
/* Whole-string match filling capture offsets: ovec[2*i], ovec[2*i+1] for group i (0 = whole
 * string; -1/-1 when a group did not participate), for at most max_groups groups. Returns the
 * number of groups filled (>= 1) on a match, 0 on no match, -1 on error. For label_replace. */
int promql_regex_match_groups(const promql_regex *re, const char *s, size_t len, long *ovec, int max_groups);
/* Number of capture groups in the pattern (excluding group 0). */
int promql_regex_group_count(const promql_regex *re);
/* Index of a named group, or -1. */
int promql_regex_group_index(const promql_regex *re, const char *name);

#endif
