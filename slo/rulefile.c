/*
 * rulefile.c — Prometheus rule-file reader (see rulefile.h).
 *
 * Layout: one slo_rulefile owns an arena holding every group, rule, label and string of every file
 * loaded into it, and a growable array of rules_group_def whose rules point into the arena.
 * Cost: O(file size).
 */
#include "slo/rulefile.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slo/yaml_tree.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/fmt.h"

struct slo_rulefile {
	arena arena;
	rules_group_def *groups;
	size_t n, cap;
};

typedef struct rf_ctx {
	slo_rulefile *f;
	const char *file;
	buf errs;
	int n_errs;
} rf_ctx;

static void rf_err(rf_ctx *c, const slo__ynode *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void rf_err(rf_ctx *c, const slo__ynode *at, const char *fmt, ...)
{
	va_list ap;
	if (c->n_errs++)
		buf_putc(&c->errs, '\n');
	buf_printf(&c->errs, "%s:%u:%u: ", c->file, at ? at->line : 0, at ? at->col : 0);
	va_start(ap, fmt);
	buf_vprintf(&c->errs, fmt, ap);
	va_end(ap);
}

static const char *scalar(rf_ctx *c, const slo__ynode *n, const char *what)
{
	if (!n || n->type != SLO__Y_SCALAR) {
		rf_err(c, n, "%s must be a string", what);
		return NULL;
	}
	return n->str;
}

static int duration(rf_ctx *c, const slo__ynode *n, const char *what, int64_t *out)
{
	const char *s = scalar(c, n, what);
	if (!s)
		return -1;
	if (slod_parse_duration_ms(s, strlen(s), out) != 0) {
		rf_err(c, n, "%s: not a valid duration string: \"%s\"", what, s);
		return -1;
	}
	return 0;
}

static int label_map(rf_ctx *c, const slo__ynode *n, const char *what, slod_labels *out, bool check_names)
{
	out->v = NULL;
	out->n = 0;
	if (!n || slo__yis_null(n))
		return 0;
	if (n->type != SLO__Y_MAP) {
		rf_err(c, n, "%s must be a map", what);
		return -1;
	}
	out->v = arena_calloc(&c->f->arena, n->n ? n->n : 1, sizeof(slod_label));
	if (!out->v)
		return -1;
	for (size_t i = 0; i < n->n; i++) {
		const slo__ynode *k = n->items[2 * i], *v = n->items[2 * i + 1];
		const char *ks = scalar(c, k, what), *vs = scalar(c, v, what);
		if (!ks || !vs)
			return -1;
		if (check_names && !labels_valid_name(ks, strlen(ks))) {
			rf_err(c, k, "invalid label name: %s", ks);
			return -1;
		}
		out->v[out->n++] = (slod_label){ks, vs};
	}
	labels_sort(out);
	if (labels_find_duplicate(out) >= 0) {
		rf_err(c, n, "%s: duplicate key", what);
		return -1;
	}
	return 0;
}

static bool known_key(const char *k, const char *const *allowed)
{
	for (; *allowed; allowed++)
		if (strcmp(k, *allowed) == 0)
			return true;
	return false;
}

static int check_keys(rf_ctx *c, const slo__ynode *m, const char *const *allowed, const char *type)
{
	int bad = 0;
	for (size_t i = 0; i < m->n; i++) {
		const slo__ynode *k = m->items[2 * i];
		if (k->type == SLO__Y_SCALAR && !known_key(k->str, allowed)) {
			rf_err(c, k, "field %s not found in type %s", k->str, type);
			bad = -1;
		}
	}
	return bad;
}

static int parse_rule(rf_ctx *c, const slo__ynode *r, rules_rule_def *out)
{
	static const char *const keys[] = {"record", "alert", "expr", "for", "keep_firing_for", "labels",
					   "annotations", NULL};
	memset(out, 0, sizeof(*out));
	out->file = c->file;
	out->line = r->line;
	if (r->type != SLO__Y_MAP) {
		rf_err(c, r, "a rule must be a map");
		return -1;
	}
	if (check_keys(c, r, keys, "rulefmt.Rule") != 0)
		return -1;
	const slo__ynode *rec = slo__ymap_get(r, "record", NULL), *al = slo__ymap_get(r, "alert", NULL);
	const slo__ynode *ex = slo__ymap_get(r, "expr", NULL);
	if ((rec && al) || (!rec && !al)) {
		rf_err(c, r, "one of 'record' or 'alert' must be set");
		return -1;
	}
	out->kind = rec ? RULES_RECORD : RULES_ALERT;
	out->name = scalar(c, rec ? rec : al, rec ? "record" : "alert");
	if (!ex) {
		rf_err(c, r, "field 'expr' must be set in rule");
		return -1;
	}
	out->expr = scalar(c, ex, "expr");
	if (!out->name || !out->expr)
		return -1;
	if (rec && !labels_valid_metric_name(out->name, strlen(out->name))) {
		rf_err(c, rec, "invalid recording rule name: %s", out->name);
		return -1;
	}
	const slo__ynode *n;
	if ((n = slo__ymap_get(r, "for", NULL)) && duration(c, n, "for", &out->for_ms) != 0)
		return -1;
	if ((n = slo__ymap_get(r, "keep_firing_for", NULL)) &&
	    duration(c, n, "keep_firing_for", &out->keep_firing_for_ms) != 0)
		return -1;
	if (rec && (slo__ymap_get(r, "for", NULL) || slo__ymap_get(r, "annotations", NULL))) {
		rf_err(c, r, "invalid field 'for' or 'annotations' in recording rule");
		return -1;
	}
	if (label_map(c, slo__ymap_get(r, "labels", NULL), "labels", &out->labels, true) != 0 ||
	    label_map(c, slo__ymap_get(r, "annotations", NULL), "annotations", &out->annotations, false) != 0)
		return -1;
	return 0;
}

static int parse_group(rf_ctx *c, const slo__ynode *g)
{
	static const char *const keys[] = {"name", "interval", "limit", "rules", "query_offset", "labels", NULL};
	if (g->type != SLO__Y_MAP) {
		rf_err(c, g, "a group must be a map");
		return -1;
	}
	if (check_keys(c, g, keys, "rulefmt.RuleGroup") != 0)
		return -1;
	slo_rulefile *f = c->f;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		rules_group_def *ng = realloc(f->groups, cap * sizeof(*ng));
		if (!ng)
			return -1;
		f->groups = ng;
		f->cap = cap;
	}
	rules_group_def *d = &f->groups[f->n];
	memset(d, 0, sizeof(*d));
	d->file = c->file;
	const slo__ynode *n = slo__ymap_get(g, "name", NULL);
	if (!n || !(d->name = scalar(c, n, "name")) || !d->name[0]) {
		rf_err(c, g, "groupname must not be empty");
		return -1;
	}
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->groups[i].name, d->name) == 0 && strcmp(f->groups[i].file, c->file) == 0) {
			rf_err(c, n, "groupname: \"%s\" is repeated in the same file", d->name);
			return -1;
		}
	if ((n = slo__ymap_get(g, "interval", NULL)) && duration(c, n, "interval", &d->interval_ms) != 0)
		return -1;
	if ((n = slo__ymap_get(g, "limit", NULL))) {
		const char *s = scalar(c, n, "limit");
		char *end;
		long v = s ? strtol(s, &end, 10) : -1;
		if (!s || *end || v < 0) {
			rf_err(c, n, "limit must be a non-negative integer");
			return -1;
		}
		d->limit = (uint32_t)v;
	}
	slod_labels glabels;
	if (label_map(c, slo__ymap_get(g, "labels", NULL), "labels", &glabels, true) != 0)
		return -1;
	const slo__ynode *rules = slo__ymap_get(g, "rules", NULL);
	if (rules && !slo__yis_null(rules) && rules->type != SLO__Y_SEQ) {
		rf_err(c, rules, "rules must be a list");
		return -1;
	}
	size_t nr = rules && rules->type == SLO__Y_SEQ ? rules->n : 0;
	rules_rule_def *rs = arena_calloc(&f->arena, nr ? nr : 1, sizeof(*rs));
	if (!rs)
		return -1;
	int bad = 0;
	for (size_t i = 0; i < nr; i++) {
		if (parse_rule(c, rules->items[i], &rs[i]) != 0) {
			bad = -1;
			continue;
		}
		/* group labels apply to every rule; the rule's own win */
		if (glabels.n) {
			slod_labels merged = {arena_calloc(&f->arena, glabels.n + rs[i].labels.n, sizeof(slod_label)), 0};
			if (!merged.v)
				return -1;
			for (size_t k = 0; k < rs[i].labels.n; k++)
				merged.v[merged.n++] = rs[i].labels.v[k];
			for (size_t k = 0; k < glabels.n; k++)
				if (!labels_get(&rs[i].labels, glabels.v[k].name))
					merged.v[merged.n++] = glabels.v[k];
			labels_sort(&merged);
			rs[i].labels = merged;
		}
	}
	if (bad)
		return -1;
	d->rules = rs;
	d->n_rules = nr;
	f->n++;
	return 0;
}

static int parse_into(slo_rulefile *f, const char *name, const char *data, size_t len, char *err, size_t errlen)
{
	rf_ctx c = {.f = f};
	buf_init(&c.errs, 64 * 1024);
	c.file = arena_strdup(&f->arena, name);
	slo__ylimits lim = SLO__YLIMITS_DEFAULT;
	slo__ydoc *docs = NULL;
	size_t nd = 0;
	uint32_t el = 0, ec = 0;
	char yerr[256];
	if (!c.file) {
		snprintf(err, errlen, "out of memory");
		buf_deinit(&c.errs);
		return -1;
	}
	if (slo__yaml_parse(&f->arena, data, len, &lim, &docs, &nd, yerr, sizeof yerr, &el, &ec) != 0) {
		snprintf(err, errlen, "%s:%u:%u: %s", name, el, ec, yerr);
		buf_deinit(&c.errs);
		return -1;
	}
	for (size_t d = 0; d < nd; d++) {
		const slo__ynode *root = docs[d].root;
		if (!root)
			continue;
		static const char *const keys[] = {"groups", NULL};
		if (root->type != SLO__Y_MAP) {
			rf_err(&c, root, "a rule file must be a map with a 'groups' list");
			continue;
		}
		if (check_keys(&c, root, keys, "rulefmt.RuleGroups") != 0)
			continue;
		const slo__ynode *gs = slo__ymap_get(root, "groups", NULL);
		if (!gs || slo__yis_null(gs))
			continue;
		if (gs->type != SLO__Y_SEQ) {
			rf_err(&c, gs, "groups must be a list");
			continue;
		}
		for (size_t i = 0; i < gs->n; i++)
			parse_group(&c, gs->items[i]);
	}
	int rc = 0;
	if (c.n_errs) {
		snprintf(err, errlen, "%s", c.errs.data ? c.errs.data : "invalid rule file");
		rc = -1;
	}
	buf_deinit(&c.errs);
	return rc;
}

static slo_rulefile *rulefile_new(void)
{
	slo_rulefile *f = calloc(1, sizeof(*f));
	if (f)
		arena_init(&f->arena, 0);
	return f;
}

int slo_rulefile_parse(const char *name, const char *data, size_t len, slo_rulefile **out, char *err,
		       size_t errlen)
{
	*out = rulefile_new();
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (parse_into(*out, name, data, len, err, errlen) != 0) {
		slo_rulefile_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		snprintf(err, errlen, "%s: cannot open: %m", path);
		return NULL;
	}
	buf b;
	buf_init(&b, 64u << 20);
	char chunk[65536];
	size_t k;
	while ((k = fread(chunk, 1, sizeof chunk, fp)) > 0)
		if (buf_append(&b, chunk, k) != 0) {
			snprintf(err, errlen, "%s: file too large", path);
			fclose(fp);
			buf_deinit(&b);
			return NULL;
		}
	fclose(fp);
	*len = b.len;
	return buf_steal(&b);
}

int slo_rulefile_load_glob(slo_rulefile **set, const char *pattern, char *err, size_t errlen)
{
	if (!*set && !(*set = rulefile_new())) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	glob_t g;
	int grc = glob(pattern, 0, NULL, &g);
	if (grc == GLOB_NOMATCH)
		return 0; /* like Prometheus: a pattern matching nothing is not an error */
	if (grc != 0) {
		snprintf(err, errlen, "%s: cannot expand the pattern", pattern);
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
		size_t len;
		char *data = read_file(g.gl_pathv[i], &len, err, errlen);
		if (!data) {
			rc = -1;
			break;
		}
		rc = parse_into(*set, g.gl_pathv[i], data, len, err, errlen);
		free(data);
	}
	globfree(&g);
	return rc;
}

const rules_group_def *slo_rulefile_groups(const slo_rulefile *f, size_t *n)
{
	*n = f ? f->n : 0;
	return f ? f->groups : NULL;
}

void slo_rulefile_free(slo_rulefile *f)
{
	if (!f)
		return;
	arena_deinit(&f->arena);
	free(f->groups);
	free(f);
}
