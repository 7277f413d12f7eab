/*
 * load.c — files and directories → YAML trees (yaml_tree.c) → the SLO model (slo.h).
 *
 * Formats, told apart by their top-level keys:
 *   version: prometheus/v1                                  Sloth's plain spec (snake_case fields)
 *   apiVersion: sloth.slok.dev/v1, kind: PrometheusServiceLevel   Sloth's CRD (camelCase fields)
 *   apiVersion: openslo/v1alpha, kind: SLO                   OpenSLO v1alpha (ratioMetrics only)
 *   apiVersion: openslo/v1, kind: SLO (+ kind: SLI)          OpenSLO v1 (ratioMetric good|bad/total;
 *                                                            indicatorRef resolved within the file)
 *   apiVersion: pyrra.dev/v1alpha1, kind: ServiceLevelObjective   Pyrra (ratio, latency, bool_gauge;
 *                                                            service = namespace, period = window)
 *   apiVersion: sloth.slok.dev/v1, kind: AlertWindows        window catalogs (windows path only)
 * Composed SLIs (OpenSLO, Pyrra) keep their source queries as `parts` so validation reports errors
 * at the position the user wrote them.
 * slod extensions: a Sloth SLO (both Sloth formats) may hold a `slod:` map (latency SLI from a
 * classic histogram, period — rolling or calendar with a time zone read from the system zoneinfo
 * (TZif v2) —, min_events, per-tier windows/factors/severity/for; docs/slo.md). Without it the
 * model is exactly what it was, so generation stays Sloth-identical.
 * Field names match ASCII case-insensitively (as Sloth's JSON-based decoding does). Unknown fields
 * are warnings (Sloth ignores them), with a "did you mean" when the other spelling of a field
 * (snake_case vs camelCase) was written. Wrong types are errors at the value's position.
 *
 * Invariants: every string in the model is NUL-terminated and lives in the set's arena; every
 * slo_pos names the file (an arena copy of the path). A document with an error still yields its
 * group when the structure was readable, so validation can report everything in one pass; the
 * error count on the set says whether anything failed.
 *
 * Cost: O(file size); directories are walked recursively with entries sorted by name.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "slo/slo_int.h"
#include "util/fmt.h"

/* ---- set ------------------------------------------------------------------------------------ */

static const char default_windows_yaml[] =
	"apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec:\n  sloPeriod: 30d\n"
	"  page:\n    quick: {errorBudgetPercent: 2, shortWindow: 5m, longWindow: 1h}\n"
	"    slow: {errorBudgetPercent: 5, shortWindow: 30m, longWindow: 6h}\n"
	"  ticket:\n    quick: {errorBudgetPercent: 10, shortWindow: 2h, longWindow: 1d}\n"
	"    slow: {errorBudgetPercent: 10, shortWindow: 6h, longWindow: 3d}\n"
	"---\n"
	"apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec:\n  sloPeriod: 28d\n"
	"  page:\n    quick: {errorBudgetPercent: 2, shortWindow: 5m, longWindow: 1h}\n"
	"    slow: {errorBudgetPercent: 5, shortWindow: 30m, longWindow: 6h}\n"
	"  ticket:\n    quick: {errorBudgetPercent: 10, shortWindow: 2h, longWindow: 1d}\n"
	"    slow: {errorBudgetPercent: 10, shortWindow: 6h, longWindow: 3d}\n";

slo_set *slo_set_new(void)
{
	slo_set *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	arena_init(&s->a, 0);
	s->ylim = (slo__ylimits)SLO__YLIMITS_DEFAULT;
	s->max_total_input = 256u << 20;
	s->max_files = 10000;
	if (slo__load_windows_doc(s, "<builtin windows>", default_windows_yaml, sizeof default_windows_yaml - 1) != 0) {
		slo_set_free(s);
		return NULL;
	}
	return s;
}

void slo_set_free(slo_set *s)
{
	if (!s)
		return;
	arena_deinit(&s->a);
	free(s->groups);
	free(s->windows);
	free(s->diags);
	free(s);
}

size_t slo_set_groups(const slo_set *s, const slo_group **out)
{
	*out = s->groups;
	return s->n_groups;
}

const slo_windows *slo_set_windows(const slo_set *s, int64_t period_ms)
{
	for (size_t i = 0; i < s->n_windows; i++)
		if (s->windows[i].period_ms == period_ms)
			return &s->windows[i];
	return NULL;
}

size_t slo_set_diags(const slo_set *s, const slo_diag **out)
{
	*out = s->diags;
	return s->n_diags;
}

size_t slo_set_error_count(const slo_set *s) { return s->n_errors; }

int slo__diag(slo_set *s, slo_diag_severity sev, slo_pos pos, const char *fmt, ...)
{
	if (s->n_diags == s->cap_diags) {
		size_t nc = s->cap_diags ? s->cap_diags * 2 : 16;
		slo_diag *nd = realloc(s->diags, nc * sizeof *nd);
		if (!nd)
			return SLO_ERR_NOMEM;
		s->diags = nd;
		s->cap_diags = nc;
	}
	va_list ap;
	buf b;
	buf_init(&b, 4096);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	const char *text = b.data ? b.data : "";
	/* The same problem at the same place is reported once (e.g. a group label shared by SLOs). */
	for (size_t i = s->n_diags > 256 ? s->n_diags - 256 : 0; i < s->n_diags; i++) {
		const slo_diag *d = &s->diags[i];
		if (d->severity == sev && d->pos.line == pos.line && d->pos.col == pos.col &&
		    ((d->pos.file && pos.file && strcmp(d->pos.file, pos.file) == 0) || d->pos.file == pos.file) &&
		    strcmp(d->msg, text) == 0) {
			buf_deinit(&b);
			return 0;
		}
	}
	char *m = arena_strdup(&s->a, text);
	buf_deinit(&b);
	if (!m)
		return SLO_ERR_NOMEM;
	s->diags[s->n_diags++] = (slo_diag){.severity = sev, .pos = pos, .msg = m};
	if (sev == SLO_DIAG_ERROR)
		s->n_errors++;
	return 0;
}

int slo_diag_format(const slo_diag *d, char *out, size_t cap)
{
	const char *sev = d->severity == SLO_DIAG_WARNING ? "warning: " : "";
	if (d->pos.line)
		return snprintf(out, cap, "%s:%u:%u: %s%s", d->pos.file ? d->pos.file : "<input>", d->pos.line,
				d->pos.col, sev, d->msg);
	return snprintf(out, cap, "%s: %s%s", d->pos.file ? d->pos.file : "<input>", sev, d->msg);
}

int slo__labels_set(arena *a, slo_labels *l, const char *name, const char *value, slo_pos pos)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].name, name) == 0) {
			l->v[i].value = value;
			l->v[i].pos = pos;
			return 0;
		}
	}
	/* Capacity is implied by n: 4, then doubling at each power of two from 4 on (arena memory:
	 * a grown array abandons the old one). */
	if (l->n == 0 || (l->n >= 4 && (l->n & (l->n - 1)) == 0)) {
		size_t nc = l->n ? l->n * 2 : 4;
		slo_label *nv = arena_alloc(a, nc * sizeof *nv);
		if (!nv)
			return -1;
		if (l->n)
			memcpy(nv, l->v, l->n * sizeof *nv);
		l->v = nv;
	}
	l->v[l->n++] = (slo_label){.name = name, .value = value, .pos = pos};
	return 0;
}

const char *slo__labels_get(const slo_labels *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return l->v[i].value;
	return NULL;
}

/* ---- loader context ------------------------------------------------------------------------- */

typedef struct ld {
	slo_set *s;
	const char *file; /* arena copy */
	const char *data;
	size_t len;
	bool k8s; /* camelCase field names */
	int err;  /* OOM */
	size_t errors_before;
	const slo__ydoc *doc; /* the document being loaded */
} ld;

static slo_pos P(const ld *L, const slo__ynode *n)
{
	return (slo_pos){.file = L->file, .line = n ? n->line : 0, .col = n ? n->col : 0};
}

static void E(ld *L, const slo__ynode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void E(ld *L, const slo__ynode *n, const char *fmt, ...)
{
	char m[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	if (slo__diag(L->s, SLO_DIAG_ERROR, P(L, n), "%s", m) != 0)
		L->err = SLO_ERR_NOMEM;
}

static void W(ld *L, const slo__ynode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void W(ld *L, const slo__ynode *n, const char *fmt, ...)
{
	char m[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	if (slo__diag(L->s, SLO_DIAG_WARNING, P(L, n), "%s", m) != 0)
		L->err = SLO_ERR_NOMEM;
}

/* Lower-cases and drops '_' so "page_alert" and "pageAlert" compare equal. */
static void squash(const char *in, char *out, size_t cap)
{
	size_t k = 0;
	for (; *in && k + 1 < cap; in++)
		if (*in != '_' && *in != '-')
			out[k++] = (char)((*in >= 'A' && *in <= 'Z') ? *in + 32 : *in);
	out[k] = 0;
}

/* Warns about keys of m that are not in known (NULL-terminated). */
static void check_fields(ld *L, const slo__ynode *m, const char *const *known, const char *where)
{
	if (!m || m->type != SLO__Y_MAP)
		return;
	for (size_t i = 0; i < m->n; i++) {
		const slo__ynode *k = m->items[2 * i];
		bool ok = false;
		for (const char *const *p = known; *p && !ok; p++)
			ok = strcasecmp(k->str, *p) == 0;
		if (ok)
			continue;
		char a[128], b[128];
		const char *hint = NULL;
		squash(k->str, a, sizeof a);
		for (const char *const *p = known; *p && !hint; p++) {
			squash(*p, b, sizeof b);
			if (strcmp(a, b) == 0)
				hint = *p;
		}
		if (hint)
			W(L, k, "unknown field \"%s\" in %s is ignored; did you mean \"%s\"?", k->str, where, hint);
		else
			W(L, k, "unknown field \"%s\" in %s is ignored", k->str, where);
	}
	/* Duplicate keys: yaml.v2 rejects them. */
	for (size_t i = 0; i < m->n; i++)
		for (size_t j = i + 1; j < m->n; j++)
			if (strcmp(m->items[2 * i]->str, m->items[2 * j]->str) == 0) {
				E(L, m->items[2 * j], "duplicate field \"%s\" (first at line %u)", m->items[2 * j]->str,
				  m->items[2 * i]->line);
				break;
			}
}

static const char *field(const ld *L, const char *snake, const char *camel)
{
	return L->k8s ? camel : snake;
}

/* A string field: NULL if absent/null; error if not a scalar. */
static const char *get_str(ld *L, const slo__ynode *m, const char *key, const slo__ynode **vn)
{
	const slo__ynode *v = slo__ymap_get(m, key, NULL);
	if (vn)
		*vn = v;
	if (!v || slo__yis_null(v))
		return NULL;
	if (v->type != SLO__Y_SCALAR) {
		E(L, v, "field \"%s\" must be a string", key);
		return NULL;
	}
	return v->str;
}

static bool get_bool(ld *L, const slo__ynode *m, const char *key)
{
	const slo__ynode *v = slo__ymap_get(m, key, NULL);
	if (!v || slo__yis_null(v))
		return false;
	if (v->type == SLO__Y_SCALAR && v->style == SLO__Y_PLAIN) {
		static const char *const t[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"};
		static const char *const f[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"};
		for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
			if (strcmp(v->str, t[i]) == 0)
				return true;
		for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
			if (strcmp(v->str, f[i]) == 0)
				return false;
	}
	E(L, v, "field \"%s\" must be true or false", key);
	return false;
}

static bool get_num(ld *L, const slo__ynode *v, const char *key, double *out)
{
	if (!v || slo__yis_null(v))
		return false;
	if (v->type != SLO__Y_SCALAR || v->style != SLO__Y_PLAIN) {
		E(L, v, "field \"%s\" must be a number", key);
		return false;
	}
	char tmp[64];
	size_t k = 0;
	for (size_t i = 0; i < v->len && k + 1 < sizeof tmp; i++)
		if (v->str[i] != '_')
			tmp[k++] = v->str[i];
	tmp[k] = 0;
	char *end;
	errno = 0;
	double d = strtod(tmp, &end);
	if (k == 0 || *end || errno == ERANGE || !isfinite(d) || v->len >= sizeof tmp) {
		E(L, v, "field \"%s\" must be a number, not \"%s\"", key, v->str);
		return false;
	}
	*out = d;
	return true;
}

static void get_labels(ld *L, const slo__ynode *m, const char *key, slo_labels *out)
{
	const slo__ynode *v = slo__ymap_get(m, key, NULL);
	if (!v || slo__yis_null(v))
		return;
	if (v->type != SLO__Y_MAP) {
		E(L, v, "field \"%s\" must be a map of strings", key);
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const slo__ynode *k = v->items[2 * i], *val = v->items[2 * i + 1];
		if (val->type != SLO__Y_SCALAR) {
			E(L, val, "value of \"%s\" in %s must be a string", k->str, key);
			continue;
		}
		const char *sv = slo__yis_null(val) ? "" : val->str;
		if (slo__labels_set(&L->s->a, out, k->str, sv, P(L, k)) != 0)
			L->err = SLO_ERR_NOMEM;
	}
}

/* Column where the content of a block scalar starting at line `line` begins. */
static uint32_t block_col(const ld *L, uint32_t line)
{
	size_t i = 0;
	uint32_t cur = 1;
	while (i < L->len && cur <= line) {
		if (L->data[i] == '\n')
			cur++;
		i++;
	}
	while (i < L->len) {
		size_t sp = 0;
		while (i + sp < L->len && L->data[i + sp] == ' ')
			sp++;
		if (i + sp < L->len && L->data[i + sp] != '\n' && L->data[i + sp] != '\r')
			return (uint32_t)sp + 1;
		while (i < L->len && L->data[i] != '\n')
			i++;
		i++;
	}
	return 0;
}

/* Fills q from scalar v: text, position, style and what maps offsets back to the source. */
static void fill_query(ld *L, slo_query *q, const slo__ynode *v)
{
	q->text = v->str;
	q->pos = P(L, v);
	q->style = v->style;
	if (v->style == SLO__Y_LITERAL || v->style == SLO__Y_FOLDED)
		q->block_col = block_col(L, v->line);
	else if (v->end > v->start && v->end <= L->len)
		q->raw = arena_strndup(&L->s->a, L->data + v->start, v->end - v->start);
}

static void get_query(ld *L, const slo__ynode *m, const char *key, slo_query *q)
{
	const slo__ynode *v;
	const char *s = get_str(L, m, key, &v);
	if (!s)
		return;
	fill_query(L, q, v);
}

static slo_group *new_group(ld *L, slo_format f, const slo__ynode *root)
{
	const slo__ydoc *doc = L->doc;
	slo_set *s = L->s;
	if (s->n_groups == s->cap_groups) {
		size_t nc = s->cap_groups ? s->cap_groups * 2 : 8;
		slo_group *ng = realloc(s->groups, nc * sizeof *ng);
		if (!ng) {
			L->err = SLO_ERR_NOMEM;
			return NULL;
		}
		s->groups = ng;
		s->cap_groups = nc;
	}
	slo_group *g = &s->groups[s->n_groups++];
	memset(g, 0, sizeof *g);
	g->format = f;
	g->pos = P(L, root);
	if (doc && doc->end > doc->start && doc->end <= L->len) {
		g->text = arena_strndup(&L->s->a, L->data + doc->start, doc->end - doc->start);
		g->text_len = g->text ? doc->end - doc->start : 0;
	}
	return g;
}

static const char *scalar_of(const slo__ynode *n)
{
	return n && n->type == SLO__Y_SCALAR ? n->str : NULL;
}

/* ---- Sloth prometheus/v1 and the PrometheusServiceLevel CRD ---------------------------------- */

static void load_tier(ld *L, const slo__ynode *alerting, const char *key, slo_alert_tier *t,
		      const slo_labels *base_labels, const slo_labels *base_ann)
{
	const slo__ynode *v = slo__ymap_get(alerting, key, NULL);
	for (size_t i = 0; base_labels && i < base_labels->n; i++)
		if (slo__labels_set(&L->s->a, &t->labels, base_labels->v[i].name, base_labels->v[i].value, base_labels->v[i].pos) != 0)
			L->err = SLO_ERR_NOMEM;
	for (size_t i = 0; base_ann && i < base_ann->n; i++)
		if (slo__labels_set(&L->s->a, &t->annotations, base_ann->v[i].name, base_ann->v[i].value, base_ann->v[i].pos) != 0)
			L->err = SLO_ERR_NOMEM;
	t->pos = P(L, v ? v : alerting);
	if (!v || slo__yis_null(v))
		return;
	if (v->type != SLO__Y_MAP) {
		E(L, v, "field \"%s\" must be a map", key);
		return;
	}
	static const char *const known[] = {"disable", "labels", "annotations", NULL};
	check_fields(L, v, known, key);
	t->disable = get_bool(L, v, "disable");
	get_labels(L, v, "labels", &t->labels);
	get_labels(L, v, "annotations", &t->annotations);
}

static void set_part(ld *L, slo_spec *o, size_t i, const char *name, const slo__ynode *v, bool selector);

/* ---- slod extensions (the `slod:` key of a Sloth SLO) ---------------------------------------- */

/* A duration field of m (NULL node: absent, returns false). Errors at the value. */
static bool get_dur(ld *L, const slo__ynode *m, const char *key, int64_t *out, const slo__ynode **vn)
{
	const slo__ynode *v;
	const char *s = get_str(L, m, key, &v);
	if (vn)
		*vn = v;
	if (!s)
		return false;
	if (slod_parse_duration_ms(s, strlen(s), out) != 0 || *out <= 0) {
		E(L, v, "field \"%s\" must be a duration like 5m or 1h, not \"%s\"", key, s);
		return false;
	}
	return true;
}

/* Reads a TZif (v2+) file's 64-bit transition table into tz (arena memory). Returns 0 or -1. */
static int tzif_read(ld *L, const char *path, slo_tz *tz)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	unsigned char hb[44];
	int rc = -1;
	unsigned char *d = NULL;
	if (fread(hb, 1, 44, f) != 44 || memcmp(hb, "TZif", 4) != 0 || hb[4] < '2')
		goto out;
#define BE32(p) ((uint32_t)(p)[0] << 24 | (uint32_t)(p)[1] << 16 | (uint32_t)(p)[2] << 8 | (uint32_t)(p)[3])
	/* skip the v1 block */
	uint32_t c[6];
	for (int i = 0; i < 6; i++)
		c[i] = BE32(hb + 20 + 4 * i); /* isutcnt isstdcnt leapcnt timecnt typecnt charcnt */
	if (c[3] > 10000 || c[4] > 256 || c[4] == 0)
		goto out;
	long skip = (long)c[3] * 5 + (long)c[4] * 6 + (long)c[5] + (long)c[2] * 8 + (long)c[1] + (long)c[0];
	if (fseek(f, skip, SEEK_CUR) != 0 || fread(hb, 1, 44, f) != 44 || memcmp(hb, "TZif", 4) != 0)
		goto out;
	for (int i = 0; i < 6; i++)
		c[i] = BE32(hb + 20 + 4 * i);
	if (c[3] > 10000 || c[4] > 256 || c[4] == 0)
		goto out;
	size_t need = (size_t)c[3] * 9 + (size_t)c[4] * 6;
	d = malloc(need ? need : 1);
	if (!d || fread(d, 1, need, f) != need)
		goto out;
	int64_t *at = arena_alloc(&L->s->a, (c[3] ? c[3] : 1) * sizeof *at);
	int32_t *off = arena_alloc(&L->s->a, (c[3] ? c[3] : 1) * sizeof *off);
	if (!at || !off)
		goto out;
	const unsigned char *types = d + (size_t)c[3] * 9;
	for (uint32_t i = 0; i < c[3]; i++) {
		const unsigned char *p = d + (size_t)i * 8;
		at[i] = (int64_t)((uint64_t)BE32(p) << 32 | BE32(p + 4));
		unsigned t = d[(size_t)c[3] * 8 + i];
		if (t >= c[4])
			goto out;
		off[i] = (int32_t)BE32(types + 6 * t);
		if (i && at[i] <= at[i - 1])
			goto out;
	}
#undef BE32
	/* before the first transition: the first non-DST type (RFC 8536 3.2), else type 0 */
	tz->before_s = (int32_t)((uint32_t)types[0] << 24 | (uint32_t)types[1] << 16 | (uint32_t)types[2] << 8 | types[3]);
	for (uint32_t t = 0; t < c[4]; t++)
		if (types[6 * t + 4] == 0) {
			const unsigned char *p = types + 6 * t;
			tz->before_s = (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
			break;
		}
	tz->n = c[3];
	tz->at_s = at;
	tz->off_s = off;
	rc = 0;
out:
	free(d);
	fclose(f);
	return rc;
}

/* "UTC", "Z", "+02:00", "-0530", "UTC+2", "UTC-03:30", or an IANA name read from the system's
 * zoneinfo (SLOD_ZONEINFO overrides /usr/share/zoneinfo, for tests). */
static void load_tz(ld *L, const slo__ynode *v, slo_tz *tz)
{
	const char *s = v->str;
	tz->name = s;
	const char *p = s;
	if (strcmp(s, "UTC") == 0 || strcmp(s, "Z") == 0 || strcmp(s, "Etc/UTC") == 0)
		return;
	if (strncmp(p, "UTC", 3) == 0)
		p += 3;
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, hh = 0, mm = 0, k = 0;
		p++;
		while (*p >= '0' && *p <= '9' && k < 2) {
			hh = hh * 10 + (*p++ - '0');
			k++;
		}
		if (*p == ':')
			p++;
		int km = 0;
		while (*p >= '0' && *p <= '9' && km < 2) {
			mm = mm * 10 + (*p++ - '0');
			km++;
		}
		if (k == 0 || *p || (km != 0 && km != 2) || hh > 14 || mm > 59) {
			E(L, v, "timezone \"%s\": a fixed offset is written +HH:MM (at most +14:00)", s);
			return;
		}
		tz->fixed_s = sign * (hh * 3600 + mm * 60);
		return;
	}
	/* IANA name: letters, digits, '_', '-', '+' and '/' between components, no "..". */
	bool ok = *s && *s != '/' && strlen(s) < 64 && !strstr(s, "..") && !strstr(s, "//");
	for (const char *q = s; ok && *q; q++)
		ok = (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' ||
		     *q == '-' || *q == '+' || *q == '/';
	if (!ok) {
		E(L, v, "timezone \"%s\" is not a time zone name (e.g. Europe/Paris, UTC or +02:00)", s);
		return;
	}
	const char *dir = getenv("SLOD_ZONEINFO");
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", s);
	if (tzif_read(L, path, tz) != 0)
		E(L, v, "unknown timezone \"%s\" (no valid zoneinfo file %s)", s, path);
}

static void load_ext_period(ld *L, const slo__ynode *v, slo_spec *o)
{
	o->period_pos = P(L, v);
	if (v->type == SLO__Y_SCALAR) {
		int64_t ms;
		if (slod_parse_duration_ms(v->str, v->len, &ms) != 0 || ms <= 0) {
			E(L, v, "slod.period must be a duration like 28d or a map {calendar: month, timezone: UTC}, not \"%s\"",
			  v->str);
			return;
		}
		if (ms < 3600000 || ms % 300000 != 0 || ms > 366LL * 86400000) {
			E(L, v, "slod.period must be a whole number of 5m, from 1h to 366d");
			return;
		}
		o->period_ms = ms;
		return;
	}
	if (v->type != SLO__Y_MAP) {
		E(L, v, "slod.period must be a duration or a map");
		return;
	}
	static const char *const known[] = {"calendar", "timezone", NULL};
	check_fields(L, v, known, "slod.period");
	const slo__ynode *cn;
	const char *cal = get_str(L, v, "calendar", &cn);
	if (!cal) {
		E(L, cn ? cn : v, "slod.period needs calendar: week, month or quarter");
		return;
	}
	if (strcmp(cal, "week") == 0)
		o->calendar = SLO_CAL_WEEK, o->period_ms = 7LL * 86400000;
	else if (strcmp(cal, "month") == 0)
		o->calendar = SLO_CAL_MONTH, o->period_ms = 30LL * 86400000;
	else if (strcmp(cal, "quarter") == 0)
		o->calendar = SLO_CAL_QUARTER, o->period_ms = 90LL * 86400000;
	else {
		E(L, cn, "calendar must be week, month or quarter, not \"%s\"", cal);
		return;
	}
	const slo__ynode *tn;
	if (get_str(L, v, "timezone", &tn))
		load_tz(L, tn, &o->tz);
}

static void load_ext_window(ld *L, const slo__ynode *m, const char *where, slo_window *w)
{
	if (m->type != SLO__Y_MAP) {
		E(L, m, "%s must be a map", where);
		return;
	}
	const char *const known[] = {field(L, "short_window", "shortWindow"), field(L, "long_window", "longWindow"),
				     "factor", field(L, "error_budget_percent", "errorBudgetPercent"), NULL};
	check_fields(L, m, known, where);
	const slo__ynode *sv, *lv;
	get_dur(L, m, known[0], &w->short_ms, &sv);
	get_dur(L, m, known[1], &w->long_ms, &lv);
	const slo__ynode *fv = slo__ymap_get(m, "factor", NULL), *bv = slo__ymap_get(m, known[3], NULL);
	if (fv && !slo__yis_null(fv) && get_num(L, fv, "factor", &w->factor) && !(w->factor > 0))
		E(L, fv, "%s.factor must be > 0", where);
	if (bv && !slo__yis_null(bv) && get_num(L, bv, known[3], &w->error_budget_percent) &&
	    !(w->error_budget_percent > 0 && w->error_budget_percent <= 100))
		E(L, bv, "%s.%s must be > 0 and <= 100", where, known[3]);
	if (fv && bv && !slo__yis_null(fv) && !slo__yis_null(bv))
		E(L, bv, "%s: set factor or %s, not both", where, known[3]);
	if (w->short_ms && w->long_ms && w->short_ms > w->long_ms)
		W(L, sv, "%s: %s is longer than %s", where, known[0], known[1]);
}

static void load_ext_tier(ld *L, const slo__ynode *m, const char *where, slo_alert_tier *t)
{
	if (m->type != SLO__Y_MAP) {
		E(L, m, "%s must be a map", where);
		return;
	}
	static const char *const known[] = {"disable", "severity", "for", "quick", "slow", NULL};
	check_fields(L, m, known, where);
	if (slo__ymap_get(m, "disable", NULL))
		t->disable = get_bool(L, m, "disable");
	const slo__ynode *v;
	const char *sev = get_str(L, m, "severity", &v);
	if (sev && slo__labels_set(&L->s->a, &t->labels, "severity", sev, P(L, v)) != 0)
		L->err = SLO_ERR_NOMEM;
	get_dur(L, m, "for", &t->for_ms, NULL);
	char w[64];
	if ((v = slo__ymap_get(m, "quick", NULL)) && !slo__yis_null(v)) {
		snprintf(w, sizeof w, "%s.quick", where);
		t->quick_pos = P(L, v);
		load_ext_window(L, v, w, &t->quick);
	}
	if ((v = slo__ymap_get(m, "slow", NULL)) && !slo__yis_null(v)) {
		snprintf(w, sizeof w, "%s.slow", where);
		t->slow_pos = P(L, v);
		load_ext_window(L, v, w, &t->slow);
	}
}

/* Splits "name{a="b"}" into name and the matchers inside the braces (arena strings). */
static bool split_selector(ld *L, const char *s, const char **name, const char **matchers)
{
	const char *b = strchr(s, '{');
	if (!b) {
		*name = s;
		*matchers = "";
		return true;
	}
	const char *e = strrchr(s, '}');
	if (!e || e < b)
		return false;
	for (const char *p = e + 1; *p; p++)
		if (*p != ' ')
			return false;
	size_t nl = (size_t)(b - s);
	while (nl && s[nl - 1] == ' ')
		nl--;
	*name = arena_strndup(&L->s->a, s, nl);
	*matchers = arena_strndup(&L->s->a, b + 1, (size_t)(e - b - 1));
	return *name && *matchers;
}

static bool blank(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n')
			return false;
	return true;
}

/* slod.latency: {histogram: base name or selector, threshold: seconds, selector: '{...}'}
 *   total = sum(rate(<h>_count{M}[w]))   good = sum(rate(<h>_bucket{M, le="<threshold>"}[w]))
 *   error = total − good (an events SLI, so event counts and the fast path apply). */
static void load_ext_latency(ld *L, const slo__ynode *m, slo_spec *o)
{
	o->latency = true; /* given: its own errors stand for the SLI's (no "SLI required" as well) */
	if (m->type != SLO__Y_MAP) {
		E(L, m, "slod.latency must be a map");
		return;
	}
	static const char *const known[] = {"histogram", "threshold", "selector", NULL};
	check_fields(L, m, known, "slod.latency");
	const slo__ynode *hv, *sv, *tv = slo__ymap_get(m, "threshold", NULL);
	const char *h = get_str(L, m, "histogram", &hv), *sel = get_str(L, m, "selector", &sv);
	double th = 0;
	bool ok = true;
	if (!h) {
		E(L, hv ? hv : m, "slod.latency needs a histogram (the metric's base name, without _bucket)");
		ok = false;
	}
	if (!tv || slo__yis_null(tv)) {
		E(L, m, "slod.latency needs a threshold in seconds (an le bucket boundary)");
		ok = false;
	} else if (!get_num(L, tv, "threshold", &th)) {
		ok = false;
	} else if (!(th > 0)) {
		E(L, tv, "slod.latency threshold must be > 0 seconds");
		ok = false;
	}
	const char *name = NULL, *mh = "", *ms = "";
	if (h && !split_selector(L, h, &name, &mh)) {
		E(L, hv, "slod.latency histogram must be a metric name or a selector like name{job=\"api\"}");
		ok = false;
	}
	if (name && !*name) {
		E(L, hv, "slod.latency histogram needs a metric name");
		ok = false;
	} else if (name && strlen(name) > 7 && strcmp(name + strlen(name) - 7, "_bucket") == 0) {
		W(L, hv, "slod.latency histogram is the base name: slod appends _bucket and _count");
	}
	if (sel) {
		const char *nn;
		if (!split_selector(L, sel, &nn, &ms) || *nn) {
			E(L, sv, "slod.latency selector must be label matchers in braces, like {job=\"api\"}");
			ok = false;
		}
	}
	if (!ok || L->err)
		return;
	char le[FMT_FLOAT_MAX];
	fmt_float_go(le, th, 'g');
	const char *sep = blank(mh) || blank(ms) ? "" : ", ";
	const char *all = arena_sprintf(&L->s->a, "%s%s%s", blank(mh) ? "" : mh, sep, blank(ms) ? "" : ms);
	const char *comma = blank(all) ? "" : ", ";
	const char *tot = arena_sprintf(&L->s->a, "sum(rate(%s_count{%s}[{{.window}}]))", name, all);
	const char *good =
		arena_sprintf(&L->s->a, "sum(rate(%s_bucket{%s%sle=\"%s\"}[{{.window}}]))", name, all, comma, le);
	if (!tot || !good) {
		L->err = SLO_ERR_NOMEM;
		return;
	}
	o->sli_kind = SLO_SLI_EVENTS;
	o->sli_pos = P(L, m);
	o->error_query = (slo_query){.text = arena_sprintf(&L->s->a, "%s\n-\n%s", tot, good), .pos = P(L, hv), .style = -1};
	/* The histogram is validated at its own position (a part); a selector alone may not be a valid
	 * query (`{code!~"5.."}` matches the empty string), so validation checks the composed total
	 * query for it, reported at the selector. */
	o->total_query = (slo_query){.text = tot, .pos = P(L, sel ? sv : hv), .style = -1};
	set_part(L, o, 0, "slod.latency histogram", hv, true);
}

/* The `slod:` map of a Sloth SLO (prometheus/v1: snake_case, CRD: camelCase). */
static void load_ext(ld *L, const slo__ynode *x, slo_spec *o, bool has_sli)
{
	o->ext = true;
	o->ext_pos = P(L, x);
	if (x->type != SLO__Y_MAP) {
		E(L, x, "field \"slod\" must be a map");
		return;
	}
	const char *const known[] = {"period", field(L, "min_events", "minEvents"), "latency", "page", "ticket", NULL};
	check_fields(L, x, known, "slod");
	const slo__ynode *v;
	if ((v = slo__ymap_get(x, "period", NULL)) && !slo__yis_null(v))
		load_ext_period(L, v, o);
	if ((v = slo__ymap_get(x, known[1], NULL)) && !slo__yis_null(v)) {
		double n;
		o->min_events_pos = P(L, v);
		if (get_num(L, v, known[1], &n)) {
			if (!(n >= 1 && n <= 1e15) || n != floor(n))
				E(L, v, "%s must be a whole number >= 1", known[1]);
			else
				o->min_events = (int64_t)n;
		}
	}
	if ((v = slo__ymap_get(x, "latency", NULL)) && !slo__yis_null(v)) {
		if (has_sli)
			E(L, v, "slod.latency is an SLI: remove sli (only one SLI type is allowed)");
		else
			load_ext_latency(L, v, o);
	}
	if ((v = slo__ymap_get(x, "page", NULL)) && !slo__yis_null(v))
		load_ext_tier(L, v, "slod.page", &o->alerting.page);
	if ((v = slo__ymap_get(x, "ticket", NULL)) && !slo__yis_null(v))
		load_ext_tier(L, v, "slod.ticket", &o->alerting.ticket);
}

static void load_sloth_slo(ld *L, const slo__ynode *n, slo_spec *o, const char *service, const slo__ynode *service_node,
			   const slo_labels *group_labels)
{
	static const char *const known_p[] = {"name", "description", "objective", "plugins", "labels", "sli", "alerting", "slod", NULL};
	const slo__ynode *v;
	o->pos = P(L, n);
	if (n->type != SLO__Y_MAP) {
		E(L, n, "an SLO must be a map");
		return;
	}
	check_fields(L, n, known_p, "slo");
	o->service = service ? service : "";
	o->service_pos = P(L, service_node);
	o->name = get_str(L, n, "name", &v);
	o->name_pos = P(L, v ? v : n);
	if (!o->name)
		o->name = "";
	o->id = arena_sprintf(&L->s->a, "%s-%s", o->service, o->name);
	if (!o->id)
		L->err = SLO_ERR_NOMEM;
	o->description = get_str(L, n, "description", NULL);
	v = slo__ymap_get(n, "objective", NULL);
	o->objective_pos = P(L, v ? v : n);
	o->has_objective = get_num(L, v, "objective", &o->objective);
	if (!o->has_objective && v && !slo__yis_null(v))
		o->objective = NAN; /* present but invalid: already reported */
	for (size_t i = 0; group_labels && i < group_labels->n; i++)
		if (slo__labels_set(&L->s->a, &o->labels, group_labels->v[i].name, group_labels->v[i].value, group_labels->v[i].pos) != 0)
			L->err = SLO_ERR_NOMEM;
	get_labels(L, n, "labels", &o->labels);
	if ((v = slo__ymap_get(n, "plugins", NULL)) && !slo__yis_null(v))
		W(L, v, "SLO plugins are not supported by slod and are ignored");

	const slo__ynode *sli = slo__ymap_get(n, "sli", NULL);
	o->sli_pos = P(L, sli ? sli : n);
	if (sli && sli->type == SLO__Y_MAP) {
		static const char *const known_sli[] = {"raw", "events", "plugin", NULL};
		check_fields(L, sli, known_sli, "sli");
		const slo__ynode *raw = slo__ymap_get(sli, "raw", NULL), *ev = slo__ymap_get(sli, "events", NULL);
		const slo__ynode *pl = slo__ymap_get(sli, "plugin", NULL);
		if (raw && !slo__yis_null(raw) && ev && !slo__yis_null(ev))
			E(L, ev, "only one SLI type is allowed (raw or events)");
		if (pl && !slo__yis_null(pl))
			E(L, pl, "SLI plugins are not supported by slod");
		if (ev && !slo__yis_null(ev)) {
			if (ev->type != SLO__Y_MAP) {
				E(L, ev, "field \"events\" must be a map");
			} else {
				const char *const known_ev[] = {field(L, "error_query", "errorQuery"),
								field(L, "total_query", "totalQuery"), NULL};
				check_fields(L, ev, known_ev, "sli.events");
				o->sli_kind = SLO_SLI_EVENTS;
				o->sli_pos = P(L, ev);
				get_query(L, ev, known_ev[0], &o->error_query);
				get_query(L, ev, known_ev[1], &o->total_query);
			}
		} else if (raw && !slo__yis_null(raw)) {
			if (raw->type != SLO__Y_MAP) {
				E(L, raw, "field \"raw\" must be a map");
			} else {
				const char *const known_raw[] = {field(L, "error_ratio_query", "errorRatioQuery"), NULL};
				check_fields(L, raw, known_raw, "sli.raw");
				o->sli_kind = SLO_SLI_RAW;
				o->sli_pos = P(L, raw);
				get_query(L, raw, known_raw[0], &o->error_ratio_query);
			}
		}
	} else if (sli && !slo__yis_null(sli)) {
		E(L, sli, "field \"sli\" must be a map");
	}

	const slo__ynode *al = slo__ymap_get(n, "alerting", NULL);
	o->alerting.pos = P(L, al ? al : n);
	slo_labels al_labels = {0}, al_ann = {0};
	if (al && al->type == SLO__Y_MAP) {
		const char *const known_al[] = {"name", "labels", "annotations", field(L, "page_alert", "pageAlert"),
						field(L, "ticket_alert", "ticketAlert"), NULL};
		check_fields(L, al, known_al, "alerting");
		o->alerting.name = get_str(L, al, "name", &v);
		o->alerting.name_pos = P(L, v ? v : al);
		get_labels(L, al, "labels", &al_labels);
		get_labels(L, al, "annotations", &al_ann);
		load_tier(L, al, known_al[3], &o->alerting.page, &al_labels, &al_ann);
		load_tier(L, al, known_al[4], &o->alerting.ticket, &al_labels, &al_ann);
	} else {
		if (al && !slo__yis_null(al))
			E(L, al, "field \"alerting\" must be a map");
		o->alerting.name_pos = o->alerting.pos;
		o->alerting.page.pos = o->alerting.ticket.pos = o->alerting.pos;
	}
	const slo__ynode *x = slo__ymap_get(n, "slod", NULL);
	if (x && !slo__yis_null(x))
		load_ext(L, x, o, sli && !slo__yis_null(sli));
}

static void load_sloth(ld *L, const slo__ynode *root, const slo__ynode *spec, slo_format f)
{
	slo_group *g = new_group(L, f, root);
	if (!g)
		return;
	const slo__ynode *svc_node;
	const char *service = get_str(L, spec, "service", &svc_node);
	slo_labels glabels = {0};
	get_labels(L, spec, "labels", &glabels);
	const slo__ynode *v = slo__ymap_get(spec, field(L, "slo_plugins", "sloPlugins"), NULL);
	if (v && !slo__yis_null(v))
		W(L, v, "SLO plugins are not supported by slod and are ignored");
	const slo__ynode *slos = slo__ymap_get(spec, "slos", NULL);
	if (!slos || slo__yis_null(slos) || (slos->type == SLO__Y_SEQ && slos->n == 0)) {
		E(L, slos ? slos : spec, "at least one SLO is required");
		return;
	}
	if (slos->type != SLO__Y_SEQ) {
		E(L, slos, "field \"slos\" must be a list");
		return;
	}
	g->slos = arena_calloc(&L->s->a, slos->n, sizeof *g->slos);
	if (!g->slos) {
		L->err = SLO_ERR_NOMEM;
		return;
	}
	g->n_slos = slos->n;
	for (size_t i = 0; i < slos->n; i++)
		load_sloth_slo(L, slos->items[i], &g->slos[i], service, svc_node ? svc_node : spec, &glabels);
}

/* Records a source query (part of a composed SLI) for validation at its own position. */
static void set_part(ld *L, slo_spec *o, size_t i, const char *name, const slo__ynode *v, bool selector)
{
	if (!v || v->type != SLO__Y_SCALAR || i >= 2)
		return;
	slo_query *q = &o->parts[i];
	fill_query(L, q, v);
	q->selector = selector;
	o->part_names[i] = name;
	if (o->n_parts < i + 1)
		o->n_parts = i + 1;
}

/* The error-ratio template Sloth uses for OpenSLO good/total ratios. */
static const char *good_total_ratio(ld *L, const char *good, const char *total)
{
	return arena_sprintf(&L->s->a, "\n  1 - (\n    (\n      %s\n    )\n    /\n    (\n      %s\n    )\n  )\n", good,
			     total);
}

/* ---- OpenSLO v1alpha ------------------------------------------------------------------------ */

static void load_openslo(ld *L, const slo__ynode *root)
{
	static const char *const known_root[] = {"apiVersion", "kind", "metadata", "spec", NULL};
	check_fields(L, root, known_root, "the document");
	const slo__ynode *md = slo__ymap_get(root, "metadata", NULL), *spec = slo__ymap_get(root, "spec", NULL);
	const slo__ynode *v;
	const char *mname = md ? get_str(L, md, "name", &v) : NULL;
	if (!spec || spec->type != SLO__Y_MAP) {
		E(L, spec ? spec : root, "field \"spec\" must be a map");
		return;
	}
	static const char *const known_spec[] = {"service", "description", "budgetingMethod", "objectives", "timeWindows",
						 "indicator", NULL};
	check_fields(L, spec, known_spec, "spec");
	const slo__ynode *svc_node;
	const char *service = get_str(L, spec, "service", &svc_node);
	const char *desc = get_str(L, spec, "description", NULL);
	int64_t period = 0;
	slo_pos period_pos = P(L, spec);
	const slo__ynode *tw = slo__ymap_get(spec, "timeWindows", NULL);
	if (tw && tw->type == SLO__Y_SEQ && tw->n > 0) {
		if (tw->n > 1)
			E(L, tw->items[1], "only 1 time window is supported");
		const slo__ynode *w0 = tw->items[0];
		const char *unit = get_str(L, w0, "unit", &v);
		double count = 0;
		if (!unit || strcasecmp(unit, "day") != 0)
			E(L, v ? v : w0, "only days based time windows are supported");
		else if (get_num(L, slo__ymap_get(w0, "count", NULL), "count", &count) && count > 0 && count < 36500)
			period = (int64_t)count * 86400000LL;
		period_pos = P(L, w0);
	}
	const slo__ynode *objs = slo__ymap_get(spec, "objectives", NULL);
	if (!objs || objs->type != SLO__Y_SEQ || objs->n == 0) {
		E(L, objs ? objs : spec, "at least one SLO is required");
		return;
	}
	slo_group *g = new_group(L, SLO_FORMAT_OPENSLO_V1ALPHA, root);
	if (!g)
		return;
	g->slos = arena_calloc(&L->s->a, objs->n, sizeof *g->slos);
	if (!g->slos) {
		L->err = SLO_ERR_NOMEM;
		return;
	}
	g->n_slos = objs->n;
	for (size_t i = 0; i < objs->n; i++) {
		const slo__ynode *ob = objs->items[i];
		slo_spec *o = &g->slos[i];
		o->pos = P(L, ob);
		o->service = service ? service : "";
		o->service_pos = P(L, svc_node ? svc_node : spec);
		o->name = arena_sprintf(&L->s->a, "%s-%zu", mname ? mname : "", i);
		o->name_pos = P(L, md ? md : root);
		o->id = arena_sprintf(&L->s->a, "%s-%s", o->service, o->name);
		if (!o->id)
			L->err = SLO_ERR_NOMEM;
		o->description = desc;
		o->period_ms = period;
		o->period_pos = period_pos;
		o->alerting.page.disable = o->alerting.ticket.disable = true;
		o->alerting.pos = o->alerting.page.pos = o->alerting.ticket.pos = o->pos;
		double target;
		v = slo__ymap_get(ob, "target", NULL);
		o->objective_pos = P(L, v ? v : ob);
		if (get_num(L, v, "target", &target)) {
			o->objective = target * 100;
			o->has_objective = true;
		} else if (v && !slo__yis_null(v)) {
			o->objective = NAN;
		}
		const slo__ynode *rm = slo__ymap_get(ob, "ratioMetrics", NULL);
		o->sli_pos = P(L, rm ? rm : ob);
		if (!rm || rm->type != SLO__Y_MAP) {
			E(L, rm ? rm : ob, "missing ratioMetrics");
			continue;
		}
		const slo__ynode *good = slo__ymap_get(rm, "good", NULL), *total = slo__ymap_get(rm, "total", NULL);
		const char *gq = NULL, *tq = NULL;
		const slo__ynode *gqn = NULL, *tqn = NULL;
		for (int k = 0; k < 2; k++) {
			const slo__ynode *m = k == 0 ? good : total;
			const char *nm = k == 0 ? "good" : "total";
			if (!m || m->type != SLO__Y_MAP) {
				E(L, m ? m : rm, "ratioMetrics.%s must be a map", nm);
				continue;
			}
			const char *src = get_str(L, m, "source", &v);
			if (!src || (strcmp(src, "prometheus") != 0 && strcmp(src, "sloth") != 0))
				E(L, v ? v : m, "prometheus or sloth query ratio '%s' source is required", nm);
			const char *qt = get_str(L, m, "queryType", &v);
			if (!qt || strcmp(qt, "promql") != 0)
				E(L, v ? v : m, "unsupported '%s' indicator query type: %s", nm, qt ? qt : "");
			const char *q = get_str(L, m, "query", &v);
			if (k == 0) {
				gq = q;
				gqn = v;
			} else {
				tq = q;
				tqn = v;
			}
		}
		if (!gq || !tq) {
			E(L, rm, "ratioMetrics needs good and total queries");
			continue;
		}
		o->sli_kind = SLO_SLI_RAW;
		o->error_ratio_query.text = good_total_ratio(L, gq, tq);
		o->error_ratio_query.pos = P(L, gqn);
		o->error_ratio_query.style = -1; /* composed: validated through its parts */
		set_part(L, o, 0, "ratioMetrics.good query", gqn, false);
		set_part(L, o, 1, "ratioMetrics.total query", tqn, false);
	}
}

/* ---- OpenSLO v1 ----------------------------------------------------------------------------- */

/* The Prometheus query of an OpenSLO v1 metric: {metricSource: {type: Prometheus, spec: {query}}}. */
static const slo__ynode *openslo_v1_query(ld *L, const slo__ynode *m, const char *where)
{
	const slo__ynode *ms = slo__ymap_get(m, "metricSource", NULL), *v;
	if (!ms || ms->type != SLO__Y_MAP) {
		E(L, ms ? ms : m, "%s needs a metricSource", where);
		return NULL;
	}
	const char *type = get_str(L, ms, "type", &v);
	if (!type || strcasecmp(type, "prometheus") != 0) {
		E(L, v ? v : ms, "%s: only metricSource type Prometheus is supported", where);
		return NULL;
	}
	const slo__ynode *spec = slo__ymap_get(ms, "spec", NULL);
	const char *q = spec ? get_str(L, spec, "query", &v) : NULL;
	if (!q) {
		E(L, spec ? spec : ms, "%s: metricSource.spec.query is required", where);
		return NULL;
	}
	return v;
}

static void load_openslo_v1(ld *L, const slo__ynode *root, const slo__ydoc *docs, size_t nd)
{
	static const char *const known_root[] = {"apiVersion", "kind", "metadata", "spec", NULL};
	check_fields(L, root, known_root, "the document");
	const slo__ynode *md = slo__ymap_get(root, "metadata", NULL), *spec = slo__ymap_get(root, "spec", NULL), *v;
	const char *mname = md ? get_str(L, md, "name", &v) : NULL;
	if (!spec || spec->type != SLO__Y_MAP) {
		E(L, spec ? spec : root, "field \"spec\" must be a map");
		return;
	}
	static const char *const known_spec[] = {"description", "service", "indicator", "indicatorRef", "timeWindow",
						 "budgetingMethod", "objectives", "alertPolicies", NULL};
	check_fields(L, spec, known_spec, "spec");
	const slo__ynode *svc_node;
	const char *service = get_str(L, spec, "service", &svc_node);
	const char *desc = get_str(L, spec, "description", NULL);
	const char *bm = get_str(L, spec, "budgetingMethod", &v);
	if (bm && strcmp(bm, "Occurrences") != 0)
		E(L, v, "only budgetingMethod Occurrences is supported, not %s", bm);

	/* Indicator: inline, or a kind: SLI document of the same file named by indicatorRef. */
	const slo__ynode *ind = slo__ymap_get(spec, "indicator", NULL);
	const char *ref = get_str(L, spec, "indicatorRef", &v);
	if (!ind && ref) {
		for (size_t d = 0; d < nd && !ind; d++) {
			const slo__ynode *r = docs[d].root;
			const char *k = r ? scalar_of(slo__ymap_get(r, "kind", NULL)) : NULL;
			const slo__ynode *rm = r ? slo__ymap_get(r, "metadata", NULL) : NULL;
			const char *n = rm ? scalar_of(slo__ymap_get(rm, "name", NULL)) : NULL;
			if (k && n && strcmp(k, "SLI") == 0 && strcmp(n, ref) == 0)
				ind = r;
		}
		if (!ind) {
			E(L, v, "indicatorRef \"%s\": no kind: SLI document with that name in this file", ref);
			return;
		}
	}
	if (!ind || ind->type != SLO__Y_MAP) {
		E(L, ind ? ind : spec, "an SLO needs an indicator or an indicatorRef");
		return;
	}
	const slo__ynode *ispec = slo__ymap_get(ind, "spec", NULL);
	const slo__ynode *rm = ispec ? slo__ymap_get(ispec, "ratioMetric", NULL) : NULL;
	if (!rm || rm->type != SLO__Y_MAP) {
		E(L, ispec ? ispec : ind, "only ratioMetric indicators are supported");
		return;
	}
	static const char *const known_rm[] = {"counter", "good", "bad", "total", "rawType", "raw", NULL};
	check_fields(L, rm, known_rm, "ratioMetric");
	const slo__ynode *good = slo__ymap_get(rm, "good", NULL), *bad = slo__ymap_get(rm, "bad", NULL);
	const slo__ynode *total = slo__ymap_get(rm, "total", NULL), *raw = slo__ymap_get(rm, "raw", NULL);

	int64_t period = 0;
	slo_pos period_pos = P(L, spec);
	const slo__ynode *tw = slo__ymap_get(spec, "timeWindow", NULL);
	if (tw && tw->type == SLO__Y_SEQ && tw->n > 0) {
		if (tw->n > 1)
			E(L, tw->items[1], "only 1 time window is supported");
		const slo__ynode *w0 = tw->items[0];
		period_pos = P(L, w0);
		const char *dur = get_str(L, w0, "duration", &v);
		if (!dur || slod_parse_duration_ms(dur, strlen(dur), &period) != 0 || period <= 0) {
			E(L, v ? v : w0, "timeWindow duration must be a duration like 28d");
			period = 0;
		}
		const slo__ynode *roll = slo__ymap_get(w0, "isRolling", NULL);
		if (roll && !get_bool(L, w0, "isRolling"))
			E(L, roll, "only rolling time windows are supported");
	}
	const slo__ynode *objs = slo__ymap_get(spec, "objectives", NULL);
	if (!objs || objs->type != SLO__Y_SEQ || objs->n == 0) {
		E(L, objs ? objs : spec, "at least one objective is required");
		return;
	}
	slo_group *g = new_group(L, SLO_FORMAT_OPENSLO_V1, root);
	if (!g)
		return;
	g->slos = arena_calloc(&L->s->a, objs->n, sizeof *g->slos);
	if (!g->slos) {
		L->err = SLO_ERR_NOMEM;
		return;
	}
	g->n_slos = objs->n;
	for (size_t i = 0; i < objs->n; i++) {
		const slo__ynode *ob = objs->items[i];
		slo_spec *o = &g->slos[i];
		o->pos = P(L, ob);
		o->service = service ? service : "";
		o->service_pos = P(L, svc_node ? svc_node : spec);
		o->name = objs->n == 1 ? (mname ? mname : "") : arena_sprintf(&L->s->a, "%s-%zu", mname ? mname : "", i);
		o->name_pos = P(L, md ? md : root);
		o->id = arena_sprintf(&L->s->a, "%s-%s", o->service, o->name);
		if (!o->id)
			L->err = SLO_ERR_NOMEM;
		o->description = desc;
		o->period_ms = period;
		o->period_pos = period_pos;
		o->alerting.page.disable = o->alerting.ticket.disable = true;
		o->alerting.pos = o->alerting.page.pos = o->alerting.ticket.pos = o->pos;
		double t;
		const slo__ynode *tn = slo__ymap_get(ob, "target", NULL), *tp = slo__ymap_get(ob, "targetPercent", NULL);
		o->objective_pos = P(L, tn ? tn : tp ? tp : ob);
		if (tn && get_num(L, tn, "target", &t)) {
			o->objective = t * 100;
			o->has_objective = true;
		} else if (tp && get_num(L, tp, "targetPercent", &t)) {
			o->objective = t;
			o->has_objective = true;
		} else if (tn || tp) {
			o->objective = NAN;
		}
		o->sli_pos = P(L, rm);
		const slo__ynode *tq = total ? openslo_v1_query(L, total, "ratioMetric.total") : NULL;
		if (good && !bad) {
			const slo__ynode *gq = openslo_v1_query(L, good, "ratioMetric.good");
			if (!gq || !tq)
				continue;
			o->sli_kind = SLO_SLI_RAW;
			o->error_ratio_query.text = good_total_ratio(L, gq->str, tq->str);
			o->error_ratio_query.pos = P(L, gq);
			o->error_ratio_query.style = -1;
			set_part(L, o, 0, "ratioMetric.good query", gq, false);
			set_part(L, o, 1, "ratioMetric.total query", tq, false);
		} else if (bad && !good) {
			const slo__ynode *bq = openslo_v1_query(L, bad, "ratioMetric.bad");
			if (!bq || !tq)
				continue;
			o->sli_kind = SLO_SLI_EVENTS;
			fill_query(L, &o->error_query, bq);
			fill_query(L, &o->total_query, tq);
		} else if (raw) {
			E(L, raw, "raw ratioMetric indicators are not supported; use good or bad with total");
		} else {
			E(L, rm, "ratioMetric needs exactly one of good or bad, and total");
		}
	}
}

/* ---- Pyrra ---------------------------------------------------------------------------------- */

/* "sum(rate(M[{{.window}}]))" or "sum by (g1, g2) (rate(M[{{.window}}]))". */
static const char *pyrra_sum(ld *L, const char *fn, const char *metric, const char *grouping)
{
	if (grouping)
		return arena_sprintf(&L->s->a, "sum by (%s) (%s(%s[{{.window}}]))", grouping, fn, metric);
	return arena_sprintf(&L->s->a, "sum(%s(%s[{{.window}}]))", fn, metric);
}

static void load_pyrra(ld *L, const slo__ynode *root)
{
	static const char *const known_root[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
	check_fields(L, root, known_root, "the document");
	const slo__ynode *md = slo__ymap_get(root, "metadata", NULL), *spec = slo__ymap_get(root, "spec", NULL), *v;
	if (!spec || spec->type != SLO__Y_MAP) {
		E(L, spec ? spec : root, "field \"spec\" must be a map");
		return;
	}
	static const char *const known_spec[] = {"description", "target", "window", "indicator", "alerting",
						 "partial_response_strategy", NULL};
	check_fields(L, spec, known_spec, "spec");
	slo_group *g = new_group(L, SLO_FORMAT_PYRRA, root);
	if (!g)
		return;
	g->slos = arena_calloc(&L->s->a, 1, sizeof *g->slos);
	if (!g->slos) {
		L->err = SLO_ERR_NOMEM;
		return;
	}
	g->n_slos = 1;
	slo_spec *o = &g->slos[0];
	o->pos = P(L, root);
	const slo__ynode *nn = NULL, *nsn = NULL;
	const char *name = md ? get_str(L, md, "name", &nn) : NULL;
	const char *ns = md ? get_str(L, md, "namespace", &nsn) : NULL;
	g->k8s_name = name;
	g->k8s_namespace = ns;
	/* Pyrra has no service: the namespace plays that part ("default" when absent). */
	o->service = ns ? ns : "default";
	o->service_pos = P(L, nsn ? nsn : md ? md : root);
	o->name = name ? name : "";
	o->name_pos = P(L, nn ? nn : md ? md : root);
	o->id = arena_sprintf(&L->s->a, "%s-%s", o->service, o->name);
	if (!o->id)
		L->err = SLO_ERR_NOMEM;
	o->description = get_str(L, spec, "description", NULL);
	/* Labels prefixed pyrra.dev/ are the ones Pyrra copies onto its rules (prefix dropped). */
	slo_labels ml = {0};
	if (md)
		get_labels(L, md, "labels", &ml);
	for (size_t i = 0; i < ml.n; i++)
		if (strncmp(ml.v[i].name, "pyrra.dev/", 10) == 0)
			if (slo__labels_set(&L->s->a, &o->labels, ml.v[i].name + 10, ml.v[i].value, ml.v[i].pos) != 0)
				L->err = SLO_ERR_NOMEM;

	/* target: a string (or number) percent, "99.5". */
	const slo__ynode *tn = slo__ymap_get(spec, "target", NULL);
	o->objective_pos = P(L, tn ? tn : spec);
	if (tn && tn->type == SLO__Y_SCALAR && !slo__yis_null(tn)) {
		char *end;
		double t = strtod(tn->str, &end);
		if (end == tn->str || *end || !isfinite(t)) {
			E(L, tn, "target must be a percentage like \"99.5\", not \"%s\"", tn->str);
			o->objective = NAN;
		} else {
			o->objective = t;
			o->has_objective = true;
			if (t > 0 && t < 1)
				W(L, tn, "target is a percentage from 0 to 100 (%g), not a ratio from 0 to 1 (%g)", t * 100, t);
		}
	}
	const char *win = get_str(L, spec, "window", &v);
	o->period_pos = P(L, v ? v : spec);
	if (!win || slod_parse_duration_ms(win, strlen(win), &o->period_ms) != 0 || o->period_ms <= 0) {
		E(L, v ? v : spec, "window must be a duration like 28d");
		o->period_ms = 0;
	}

	const slo__ynode *ind = slo__ymap_get(spec, "indicator", NULL);
	o->sli_pos = P(L, ind ? ind : spec);
	if (ind && ind->type == SLO__Y_MAP) {
		static const char *const known_ind[] = {"ratio", "latency", "latencyNative", "bool_gauge", NULL};
		check_fields(L, ind, known_ind, "indicator");
		const slo__ynode *ratio = slo__ymap_get(ind, "ratio", NULL), *lat = slo__ymap_get(ind, "latency", NULL);
		const slo__ynode *bg = slo__ymap_get(ind, "bool_gauge", NULL), *ln = slo__ymap_get(ind, "latencyNative", NULL);
		const slo__ynode *which = ratio ? ratio : lat ? lat : bg;
		if ((ratio != NULL) + (lat != NULL) + (bg != NULL) + (ln != NULL) > 1)
			E(L, ind, "only one of ratio, latency, latencyNative or bool_gauge may be set");
		if (ln && !which)
			E(L, ln, "latencyNative indicators (native histograms) are not supported");
		const char *grouping = NULL;
		if (which && which->type == SLO__Y_MAP) {
			const slo__ynode *gr = slo__ymap_get(which, "grouping", NULL);
			if (gr && gr->type == SLO__Y_SEQ && gr->n) {
				buf b;
				buf_init(&b, 4096);
				for (size_t i = 0; i < gr->n; i++) {
					if (gr->items[i]->type != SLO__Y_SCALAR)
						continue;
					buf_printf(&b, "%s%s", i ? ", " : "", gr->items[i]->str);
				}
				grouping = b.data ? arena_strdup(&L->s->a, b.data) : NULL;
				buf_deinit(&b);
			}
		}
		const slo__ynode *a = NULL, *t = NULL;
		if (ratio && ratio->type == SLO__Y_MAP) {
			const slo__ynode *e = slo__ymap_get(ratio, "errors", NULL), *tt = slo__ymap_get(ratio, "total", NULL);
			get_str(L, e, "metric", &a);
			get_str(L, tt, "metric", &t);
			if (!a || !t) {
				E(L, ratio, "ratio needs errors.metric and total.metric");
			} else {
				o->sli_kind = SLO_SLI_EVENTS;
				o->error_query = (slo_query){.text = pyrra_sum(L, "rate", a->str, grouping), .pos = P(L, a), .style = -1};
				o->total_query = (slo_query){.text = pyrra_sum(L, "rate", t->str, grouping), .pos = P(L, t), .style = -1};
				set_part(L, o, 0, "ratio errors metric", a, true);
				set_part(L, o, 1, "ratio total metric", t, true);
			}
		} else if (lat && lat->type == SLO__Y_MAP) {
			const slo__ynode *sc = slo__ymap_get(lat, "success", NULL), *tt = slo__ymap_get(lat, "total", NULL);
			get_str(L, sc, "metric", &a);
			get_str(L, tt, "metric", &t);
			if (!a || !t) {
				E(L, lat, "latency needs success.metric and total.metric");
			} else {
				if (!strstr(a->str, "le="))
					E(L, a, "latency success metric must contain a le label matcher");
				o->sli_kind = SLO_SLI_RAW;
				o->error_ratio_query.text = arena_sprintf(&L->s->a, "1 - (%s / %s)", pyrra_sum(L, "rate", a->str, grouping),
									 pyrra_sum(L, "rate", t->str, grouping));
				o->error_ratio_query.pos = P(L, a);
				o->error_ratio_query.style = -1;
				set_part(L, o, 0, "latency success metric", a, true);
				set_part(L, o, 1, "latency total metric", t, true);
			}
		} else if (bg && bg->type == SLO__Y_MAP) {
			get_str(L, bg, "metric", &a);
			if (!a) {
				E(L, bg, "bool_gauge needs a metric");
			} else {
				o->sli_kind = SLO_SLI_RAW;
				o->error_ratio_query.text =
					grouping ? arena_sprintf(&L->s->a, "1 - avg by (%s) (avg_over_time(%s[{{.window}}]))", grouping, a->str) :
						   arena_sprintf(&L->s->a, "1 - avg(avg_over_time(%s[{{.window}}]))", a->str);
				o->error_ratio_query.pos = P(L, a);
				o->error_ratio_query.style = -1;
				set_part(L, o, 0, "bool_gauge metric", a, true);
			}
		}
	} else {
		E(L, ind ? ind : spec, "an indicator (ratio, latency or bool_gauge) is required");
	}

	/* Alerting: page and ticket MWMB alerts named like Pyrra's (ErrorBudgetBurn by default). */
	const slo__ynode *al = slo__ymap_get(spec, "alerting", NULL);
	o->alerting.pos = o->alerting.name_pos = P(L, al ? al : spec);
	o->alerting.name = "ErrorBudgetBurn";
	bool disabled = false;
	if (al && al->type == SLO__Y_MAP) {
		static const char *const known_al[] = {"disabled", "burnrates", "absent", "name", "absentName", NULL};
		check_fields(L, al, known_al, "alerting");
		const char *an = get_str(L, al, "name", &v);
		if (an) {
			o->alerting.name = an;
			o->alerting.name_pos = P(L, v);
		}
		disabled = get_bool(L, al, "disabled");
		if (slo__ymap_get(al, "burnrates", NULL) && !get_bool(L, al, "burnrates"))
			disabled = true;
	}
	o->alerting.page.disable = o->alerting.ticket.disable = disabled;
	o->alerting.page.pos = o->alerting.ticket.pos = o->alerting.pos;
	if (!disabled) {
		if (slo__labels_set(&L->s->a, &o->alerting.page.labels, "severity", "critical", o->alerting.pos) != 0)
			L->err = SLO_ERR_NOMEM;
		if (slo__labels_set(&L->s->a, &o->alerting.ticket.labels, "severity", "warning", o->alerting.pos) != 0)
			L->err = SLO_ERR_NOMEM;
	}
}

/* ---- AlertWindows --------------------------------------------------------------------------- */

static bool load_window(ld *L, const slo__ynode *m, const char *where, slo_window *w)
{
	if (!m || m->type != SLO__Y_MAP) {
		E(L, m, "%s must be a map", where);
		return false;
	}
	static const char *const known[] = {"errorBudgetPercent", "shortWindow", "longWindow", NULL};
	check_fields(L, m, known, where);
	const slo__ynode *v = slo__ymap_get(m, "errorBudgetPercent", NULL);
	if (!get_num(L, v, "errorBudgetPercent", &w->error_budget_percent) || w->error_budget_percent <= 0 ||
	    w->error_budget_percent > 100) {
		E(L, v ? v : m, "%s: errorBudgetPercent must be > 0 and <= 100", where);
		return false;
	}
	const char *names[2] = {"shortWindow", "longWindow"};
	int64_t *dst[2] = {&w->short_ms, &w->long_ms};
	for (int i = 0; i < 2; i++) {
		const char *s = get_str(L, m, names[i], &v);
		if (!s || slod_parse_duration_ms(s, strlen(s), dst[i]) != 0 || *dst[i] <= 0) {
			E(L, v ? v : m, "%s: %s must be a duration like 5m or 1h", where, names[i]);
			return false;
		}
	}
	if (w->short_ms > w->long_ms)
		W(L, m, "%s: shortWindow is longer than longWindow", where);
	return true;
}

static void load_windows(ld *L, const slo__ynode *root)
{
	static const char *const known_root[] = {"apiVersion", "kind", "spec", "metadata", NULL};
	check_fields(L, root, known_root, "AlertWindows");
	const slo__ynode *spec = slo__ymap_get(root, "spec", NULL), *v;
	if (!spec || spec->type != SLO__Y_MAP) {
		E(L, spec ? spec : root, "field \"spec\" must be a map");
		return;
	}
	static const char *const known_spec[] = {"sloPeriod", "page", "ticket", NULL};
	check_fields(L, spec, known_spec, "spec");
	slo_windows w = {.pos = P(L, root)};
	const char *per = get_str(L, spec, "sloPeriod", &v);
	if (!per || slod_parse_duration_ms(per, strlen(per), &w.period_ms) != 0 || w.period_ms <= 0) {
		E(L, v ? v : spec, "sloPeriod must be a duration like 30d");
		return;
	}
	const slo__ynode *page = slo__ymap_get(spec, "page", NULL), *ticket = slo__ymap_get(spec, "ticket", NULL);
	if (!page || !ticket) {
		E(L, spec, "AlertWindows needs page and ticket windows");
		return;
	}
	static const char *const known_qs[] = {"quick", "slow", NULL};
	check_fields(L, page, known_qs, "page");
	check_fields(L, ticket, known_qs, "ticket");
	if (!load_window(L, slo__ymap_get(page, "quick", NULL), "page.quick", &w.page_quick) ||
	    !load_window(L, slo__ymap_get(page, "slow", NULL), "page.slow", &w.page_slow) ||
	    !load_window(L, slo__ymap_get(ticket, "quick", NULL), "ticket.quick", &w.ticket_quick) ||
	    !load_window(L, slo__ymap_get(ticket, "slow", NULL), "ticket.slow", &w.ticket_slow))
		return;
	slo_set *s = L->s;
	for (size_t i = 0; i < s->n_windows; i++) {
		if (s->windows[i].period_ms == w.period_ms) {
			slo_windows *o = &s->windows[i];
			if (memcmp(&o->page_quick, &w.page_quick, 4 * sizeof(slo_window)) != 0)
				E(L, v, "the %s SLO period is already loaded with different windows", per);
			return;
		}
	}
	if (s->n_windows == s->cap_windows) {
		size_t nc = s->cap_windows ? s->cap_windows * 2 : 4;
		slo_windows *nw = realloc(s->windows, nc * sizeof *nw);
		if (!nw) {
			L->err = SLO_ERR_NOMEM;
			return;
		}
		s->windows = nw;
		s->cap_windows = nc;
	}
	s->windows[s->n_windows++] = w;
}

/* ---- documents ------------------------------------------------------------------------------ */

/* windows_mode: 0 SLO specs only, 1 AlertWindows only. */
static int load_buffer(slo_set *s, const char *name, const char *data, size_t len, int windows_mode)
{
	ld L = {.s = s, .data = data, .len = len};
	L.file = arena_strdup(&s->a, name);
	if (!L.file)
		return SLO_ERR_NOMEM;
	size_t errors_before = s->n_errors;
	slo__ydoc *docs;
	size_t nd;
	char err[256];
	uint32_t el = 0, ec = 0;
	int yrc = slo__yaml_parse(&s->a, data, len, &s->ylim, &docs, &nd, err, sizeof err, &el, &ec);
	if (yrc == -2)
		return SLO_ERR_NOMEM; /* not the file's fault */
	if (yrc != 0) {
		slo_pos p = {.file = L.file, .line = el, .col = ec};
		if (slo__diag(s, SLO_DIAG_ERROR, p, "%s", err) != 0)
			return SLO_ERR_NOMEM;
		return SLO_ERR_INVALID;
	}
	size_t found = 0;
	for (size_t d = 0; d < nd && !L.err; d++) {
		const slo__ynode *root = docs[d].root;
		L.doc = &docs[d];
		if (!root || slo__yis_null(root))
			continue;
		found++;
		if (root->type != SLO__Y_MAP) {
			E(&L, root, "an SLO spec must be a YAML map");
			continue;
		}
		const slo__ynode *vn = NULL, *an = NULL, *kn = NULL;
		const char *version = scalar_of(vn = slo__ymap_get(root, "version", NULL));
		const char *api = scalar_of(an = slo__ymap_get(root, "apiVersion", NULL));
		const char *kind = scalar_of(kn = slo__ymap_get(root, "kind", NULL));
		if (windows_mode) {
			if (!api || strcmp(api, "sloth.slok.dev/v1") != 0 || !kind || strcmp(kind, "AlertWindows") != 0) {
				E(&L, an ? an : root, "invalid spec version: expected apiVersion sloth.slok.dev/v1 and kind AlertWindows");
				continue;
			}
			load_windows(&L, root);
			continue;
		}
		if (version && !api) {
			if (strcmp(version, "prometheus/v1") != 0) {
				E(&L, vn, "invalid spec version \"%s\", should be \"prometheus/v1\"", version);
				continue;
			}
			static const char *const known[] = {"version", "service", "labels", "slo_plugins", "slos", NULL};
			L.k8s = false;
			check_fields(&L, root, known, "the spec");
			load_sloth(&L, root, root, SLO_FORMAT_SLOTH_V1);
		} else if (api && strcmp(api, "sloth.slok.dev/v1") == 0 && kind && strcmp(kind, "PrometheusServiceLevel") == 0) {
			static const char *const known[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
			static const char *const known_spec[] = {"service", "labels", "sloPlugins", "slos", NULL};
			L.k8s = true;
			check_fields(&L, root, known, "the document");
			const slo__ynode *spec = slo__ymap_get(root, "spec", NULL), *md = slo__ymap_get(root, "metadata", NULL);
			if (!spec || spec->type != SLO__Y_MAP) {
				E(&L, spec ? spec : root, "field \"spec\" must be a map");
				continue;
			}
			check_fields(&L, spec, known_spec, "spec");
			size_t before = s->n_groups;
			load_sloth(&L, root, spec, SLO_FORMAT_SLOTH_K8S);
			if (s->n_groups > before && md && md->type == SLO__Y_MAP) {
				slo_group *g = &s->groups[s->n_groups - 1];
				g->k8s_name = get_str(&L, md, "name", NULL);
				g->k8s_namespace = get_str(&L, md, "namespace", NULL);
				get_labels(&L, md, "labels", &g->k8s_labels);
				get_labels(&L, md, "annotations", &g->k8s_annotations);
			}
		} else if (api && strcmp(api, "openslo/v1alpha") == 0 && kind && strcmp(kind, "SLO") == 0) {
			load_openslo(&L, root);
		} else if (api && strcmp(api, "openslo/v1") == 0 && kind && strcmp(kind, "SLO") == 0) {
			load_openslo_v1(&L, root, docs, nd);
		} else if (api && strcmp(api, "openslo/v1") == 0 && kind && strcmp(kind, "SLI") == 0) {
			/* Used through an SLO's indicatorRef. */
		} else if (api && strcmp(api, "pyrra.dev/v1alpha1") == 0 && kind && strcmp(kind, "ServiceLevelObjective") == 0) {
			load_pyrra(&L, root);
		} else if (api && strcmp(api, "sloth.slok.dev/v1") == 0 && kind && strcmp(kind, "AlertWindows") == 0) {
			E(&L, kn, "AlertWindows catalogs are loaded with --slo-period-windows-path, not as SLO specs");
		} else if (api || kind) {
			E(&L, an ? an : kn, "unsupported spec: apiVersion \"%s\" kind \"%s\" (supported: sloth.slok.dev/v1 "
				  "PrometheusServiceLevel, openslo/v1alpha or openslo/v1 SLO, pyrra.dev/v1alpha1 "
				  "ServiceLevelObjective, or version: prometheus/v1)",
			  api ? api : "", kind ? kind : "");
		} else {
			E(&L, root, "unknown spec type: expected version: prometheus/v1, or apiVersion and kind");
		}
	}
	if (L.err)
		return L.err;
	if (found == 0 && !windows_mode)
		W(&L, NULL, "no YAML documents");
	return s->n_errors > errors_before ? SLO_ERR_INVALID : 0;
}

int slo_load_buffer(slo_set *s, const char *name, const char *data, size_t len)
{
	return load_buffer(s, name, data, len, 0);
}

int slo_load_windows_buffer(slo_set *s, const char *name, const char *data, size_t len)
{
	return load_buffer(s, name, data, len, 1);
}

int slo__load_windows_doc(slo_set *s, const char *file, const char *data, size_t len)
{
	return load_buffer(s, file, data, len, 1);
}

static int read_file(slo_set *s, const char *path, char **data, size_t *len)
{
	*data = NULL;
	if (++s->files > s->max_files || s->total_input >= s->max_total_input) {
		slo__diag(s, SLO_DIAG_ERROR, (slo_pos){.file = arena_strdup(&s->a, path)},
			  "too many SLO files or bytes in one load (at most %zu files, %zu MiB)", s->max_files,
			  s->max_total_input >> 20);
		return SLO_ERR_INVALID;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		slo__diag(s, SLO_DIAG_ERROR, (slo_pos){.file = arena_strdup(&s->a, path)}, "cannot open: %s", strerror(errno));
		return SLO_ERR_IO;
	}
	size_t cap = 0, n = 0;
	char *b = NULL;
	int rc = 0;
	for (;;) {
		if (n + 65536 + 1 > cap) {
			size_t nc = cap ? cap * 2 : 65536 * 2;
			if (nc > s->ylim.max_input + 65536 * 2)
				nc = s->ylim.max_input + 65536 * 2;
			char *nb = realloc(b, nc);
			if (!nb) {
				rc = SLO_ERR_NOMEM;
				break;
			}
			b = nb;
			cap = nc;
		}
		size_t r = fread(b + n, 1, cap - n - 1, f);
		n += r;
		if (n > s->ylim.max_input) {
			slo__diag(s, SLO_DIAG_ERROR, (slo_pos){.file = arena_strdup(&s->a, path)},
				  "file too large (more than %zu bytes)", s->ylim.max_input);
			rc = SLO_ERR_INVALID;
			break;
		}
		if (r == 0) {
			if (ferror(f)) {
				slo__diag(s, SLO_DIAG_ERROR, (slo_pos){.file = arena_strdup(&s->a, path)}, "read error");
				rc = SLO_ERR_IO;
			}
			break;
		}
	}
	fclose(f);
	if (rc) {
		free(b);
		return rc;
	}
	if (!b)
		b = calloc(1, 1);
	if (!b)
		return SLO_ERR_NOMEM;
	b[n] = 0;
	*data = b;
	*len = n;
	s->total_input += n;
	return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool has_yaml_ext(const char *n)
{
	size_t l = strlen(n);
	return (l > 5 && strcmp(n + l - 5, ".yaml") == 0) || (l > 4 && strcmp(n + l - 4, ".yml") == 0);
}

static int walk(slo_set *s, const char *path, int windows_mode, int depth, bool top, slo_path_filter accept, void *ud)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		slo__diag(s, SLO_DIAG_ERROR, (slo_pos){.file = arena_strdup(&s->a, path)}, "cannot open: %s", strerror(errno));
		return SLO_ERR_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (!top && (!has_yaml_ext(path) || (accept && !accept(path, ud))))
			return 0;
		char *data;
		size_t len;
		int rc = read_file(s, path, &data, &len);
		if (rc)
			return rc;
		rc = load_buffer(s, path, data, len, windows_mode);
		free(data);
		return rc;
	}
	if (depth > 32)
		return 0;
	DIR *d = opendir(path);
	if (!d) {
		slo__diag(s, SLO_DIAG_ERROR, (slo_pos){.file = arena_strdup(&s->a, path)}, "cannot open: %s", strerror(errno));
		return SLO_ERR_IO;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			char **nn = realloc(names, nc * sizeof *nn);
			if (!nn) {
				rc = SLO_ERR_NOMEM;
				break;
			}
			names = nn;
			cap = nc;
		}
		names[n] = strdup(e->d_name);
		if (!names[n]) {
			rc = SLO_ERR_NOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n && rc != SLO_ERR_NOMEM; i++) {
		size_t pl = strlen(path) + strlen(names[i]) + 2;
		char *sub = malloc(pl);
		if (!sub) {
			rc = SLO_ERR_NOMEM;
			break;
		}
		snprintf(sub, pl, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
		int r = walk(s, sub, windows_mode, depth + 1, false, accept, ud);
		free(sub);
		if (r && (rc == 0 || r == SLO_ERR_NOMEM))
			rc = r;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int slo_load_path(slo_set *s, const char *path)
{
	return walk(s, path, 0, 0, true, NULL, NULL);
}

int slo_load_path_filtered(slo_set *s, const char *path, slo_path_filter accept, void *ud)
{
	return walk(s, path, 0, 0, true, accept, ud);
}

int slo_load_windows_path(slo_set *s, const char *dir)
{
	size_t saved = s->n_windows;
	s->n_windows = 0; /* a custom catalog replaces the defaults */
	int rc = walk(s, dir, 1, 0, true, NULL, NULL);
	if (s->n_windows == 0) {
		slo__diag(s, SLO_DIAG_ERROR, (slo_pos){.file = arena_strdup(&s->a, dir)}, "no AlertWindows catalogs found");
		s->n_windows = saved;
		return rc ? rc : SLO_ERR_INVALID;
	}
	s->custom_windows = true;
	return rc;
}
