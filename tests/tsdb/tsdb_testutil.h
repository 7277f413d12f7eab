/* Helpers shared by the tsdb tests (header-only, static functions). Include after <cmocka.h>. */
#ifndef SLOD_TESTS_TSDB_TESTUTIL_H
#define SLOD_TESTS_TSDB_TESTUTIL_H

#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/tsdb.h"
#include "util/labels.h"

#define TU_MAXL 16

/* A label set parsed from "a=1,b=2" (sorted); strings live in the struct. */
typedef struct tu_labels {
	char store[512];
	slod_label v[TU_MAXL];
	slod_labels ls;
} tu_labels;

static inline const slod_labels *tu_parse(tu_labels *t, const char *spec)
{
	snprintf(t->store, sizeof(t->store), "%s", spec);
	t->ls.v = t->v;
	t->ls.n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(t->store, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq = 0;
		t->v[t->ls.n].name = tok;
		t->v[t->ls.n].value = eq + 1;
		t->ls.n++;
	}
	labels_sort(&t->ls);
	return &t->ls;
}

static inline uint64_t tu_bits(double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof(u));
	return u;
}

static inline double tu_dbl(uint64_t u)
{
	double v;
	memcpy(&v, &u, sizeof(v));
	return v;
}

/* POSIX ERE regex matcher, fully anchored like Prometheus. */
typedef struct tu_re {
	regex_t re;
} tu_re;

static inline bool tu_re_match(void *re, const char *s, size_t len)
{
	char tmp[256];
	if (len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = 0;
	return regexec(&((tu_re *)re)->re, tmp, 0, NULL, 0) == 0;
}

static inline void tu_re_init(tu_re *r, const char *pat)
{
	char anch[300];
	snprintf(anch, sizeof(anch), "^(%s)$", pat);
	if (regcomp(&r->re, anch, REG_EXTENDED | REG_NOSUB) != 0)
		abort();
}

static inline tsdb_matcher tu_m(tsdb_match_type ty, const char *name, const char *value, tu_re *re)
{
	tsdb_matcher m = {ty, name, value, NULL, NULL};
	if (ty == TSDB_MATCH_RE || ty == TSDB_MATCH_NRE) {
		tu_re_init(re, value);
		m.re_match = tu_re_match;
		m.re = re;
	}
	return m;
}

/* Reads all samples of ref in [mint, maxt]; returns count, *out malloc'd. */
static inline long tu_samples(tsdb *db, tsdb_ref ref, int64_t mint, int64_t maxt, tsdb_sample **out)
{
	tsdb_querier *q = tsdb_querier_open(db, mint, maxt);
	size_t cap = 0;
	*out = NULL;
	long n = tsdb_querier_samples(q, ref, mint, maxt, out, &cap);
	tsdb_querier_close(q);
	return n;
}

/* Selects with matchers over [mint, maxt]; returns the count and formats the label sets joined by
 * ';' into out. */
static inline size_t tu_select(tsdb *db, int64_t mint, int64_t maxt, const tsdb_matcher *m, size_t nm, char *out,
			       size_t outlen)
{
	tsdb_querier *q = tsdb_querier_open(db, mint, maxt);
	tsdb_series *ss;
	size_t n;
	out[0] = 0;
	if (tsdb_querier_select(q, m, nm, &ss, &n) != 0)
		abort();
	buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(&b, ';');
		labels_format(ss[i].labels, &b);
	}
	snprintf(out, outlen, "%s", b.data ? b.data : "");
	buf_deinit(&b);
	tsdb_querier_close(q);
	return n;
}

/* A logger sink that appends every message (one per line) to text, for checking what the storage
 * logged (torn tails, replay progress). Zero-initialise, then pthread_mutex_init(&mu). */
typedef struct tu_logcap {
	pthread_mutex_t mu;
	char text[16384];
} tu_logcap;

static inline void tu_log_fn(void *ud, int level, const char *component, const char *msg)
{
	tu_logcap *c = ud;
	(void)level;
	(void)component;
	pthread_mutex_lock(&c->mu);
	size_t l = strlen(c->text);
	snprintf(c->text + l, sizeof(c->text) - l, "%s\n", msg);
	pthread_mutex_unlock(&c->mu);
}

/* Creates /tmp/slod-tsdb-<what>-XXXXXX; returns its path (owned, free it). */
static inline char *tu_mkdtemp(const char *what)
{
	char tmpl[128];
	snprintf(tmpl, sizeof(tmpl), "/tmp/slod-tsdb-%s-XXXXXX", what);
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static inline void tu_rm_rf(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

#endif
