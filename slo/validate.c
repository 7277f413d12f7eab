/*
 * validate.c — semantic checks on loaded SLOs, each reported at the exact file:line:column.
 *
 * Errors (Sloth's rules): names/IDs/services match ^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$;
 * objective in (0, 100]; exactly one SLI; events error and total queries differ; every query holds
 * {{.window}} and no other template action; every query parses as PromQL once {{.window}} is
 * replaced by 5m (the parser's error offset is mapped back through the substitution and the YAML
 * scalar's layout to the file); label keys are valid and not __name__, label values non-empty;
 * an enabled alert has a name; annotation values non-empty; a window catalog exists for the SLO
 * period; SLO IDs are unique across everything loaded.
 * Warnings (slod's own): label names outside Prometheus's classic charset, and MWMB windows that
 * can never fire because factor × error budget exceeds an error ratio of 1.
 *
 * Cost: O(total query length) plus one PromQL parse per query.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slo/slo_int.h"
#ifdef SLO_HAVE_PROMQL
#include "promql/promql.h"
#endif

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Walks the raw source of a plain or quoted scalar alongside its value until value offset off,
 * undoing YAML's line folding (a line break and its indentation read as one space, n breaks as
 * n-1 newlines), quote doubling ('') and double-quote escapes. Returns the source position. */
static slo_pos raw_pos(const slo_query *q, size_t off)
{
	const char *r = q->raw;
	size_t n = strlen(r), ri = 0, vi = 0;
	uint32_t line = q->pos.line, col = q->pos.col;
	bool dq = q->style == SLO__Y_DOUBLE, sq = q->style == SLO__Y_SINGLE;
#define ADV(k)                                             \
	do {                                               \
		size_t _cnt = (k);                                 \
		for (size_t _k = 0; _k < _cnt && ri < n; _k++) { \
			if (r[ri] == '\n') {                 \
				line++;                            \
				col = 1;                           \
			} else if (((unsigned char)r[ri] & 0xC0) != 0x80) { \
				col++;                             \
			}                                          \
			ri++;                                      \
		}                                                  \
	} while (0)
	if (dq || sq)
		ADV(1);
	while (vi < off && ri < n) {
		char c = r[ri];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			size_t rj = ri, nl = 0;
			while (rj < n && (r[rj] == ' ' || r[rj] == '\t' || r[rj] == '\n' || r[rj] == '\r'))
				nl += r[rj++] == '\n';
			if (nl == 0) {
				vi++;
				ADV(1);
				continue;
			}
			/* Folded break: value holds one space, or nl-1 newlines. */
			size_t produced = nl == 1 ? 1 : nl - 1;
			ADV(rj - ri);
			vi += produced;
			continue;
		}
		if (sq && c == '\'' && ri + 1 < n && r[ri + 1] == '\'') {
			vi++;
			ADV(2);
			continue;
		}
		if (dq && c == '\\' && ri + 1 < n) {
			char e = r[ri + 1];
			if (e == '\n' || e == '\r') { /* escaped line break: no value */
				ADV(2);
				while (ri < n && (r[ri] == ' ' || r[ri] == '\t'))
					ADV(1);
				continue;
			}
			size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0, vb = 1;
			if (digits) {
				unsigned long cp = 0;
				for (size_t k = 0; k < digits && ri + 2 + k < n; k++)
					cp = cp * 16 + (unsigned long)(hexval(r[ri + 2 + k]) < 0 ? 0 : hexval(r[ri + 2 + k]));
				vb = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
			} else if (e == 'N' || e == '_') {
				vb = 2;
			} else if (e == 'L' || e == 'P') {
				vb = 3;
			}
			vi += vb;
			ADV(2 + digits);
			continue;
		}
		vi++;
		ADV(1);
	}
#undef ADV
	return (slo_pos){.file = q->pos.file, .line = line, .col = col};
}

slo_pos slo__query_pos(const slo_query *q, size_t off)
{
	slo_pos p = q->pos;
	if (!q->text || q->style < 0)
		return p;
	if (q->raw && (q->style == SLO__Y_PLAIN || q->style == SLO__Y_SINGLE || q->style == SLO__Y_DOUBLE))
		return raw_pos(q, off);
	size_t line = 0, last_nl = 0;
	bool any_nl = false;
	for (size_t i = 0; i < off && q->text[i]; i++) {
		if (q->text[i] == '\n') {
			line++;
			last_nl = i + 1;
			any_nl = true;
		}
	}
	if (q->style == SLO__Y_LITERAL || q->style == SLO__Y_FOLDED) {
		p.line = q->pos.line + 1 + (uint32_t)line;
		p.col = (q->block_col ? q->block_col : q->pos.col) + (uint32_t)(off - last_nl);
		return p;
	}
	uint32_t quote = (q->style == SLO__Y_SINGLE || q->style == SLO__Y_DOUBLE) ? 1 : 0;
	if (!any_nl) {
		p.col = q->pos.col + quote + (uint32_t)off;
	} else {
		/* A folded plain/quoted scalar: line breaks in the value are blank lines in the source;
		 * approximate with the line count. */
		p.line = q->pos.line + (uint32_t)line;
		p.col = q->pos.col + (uint32_t)(off - last_nl);
	}
	return p;
}

static bool valid_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (i == 0 || i == n - 1) {
			if (!alnum)
				return false;
		} else if (!alnum && c != '-' && c != '_' && c != '.') {
			return false;
		}
	}
	return true;
}

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		int n = (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
		if (n < 0 || (n == 1 && *p < 0xC2))
			return false;
		for (int i = 1; i <= n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		p += n + 1;
	}
	return true;
}

static bool legacy_label(const char *s)
{
	if (!s || !*s)
		return false;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

typedef struct vctx {
	slo_set *s;
	int err;
} vctx;

#define VE(v, pos, ...)                                                        \
	do {                                                                   \
		if (slo__diag((v)->s, SLO_DIAG_ERROR, (pos), __VA_ARGS__) != 0) \
			(v)->err = SLO_ERR_NOMEM;                              \
	} while (0)
#define VW(v, pos, ...)                                                          \
	do {                                                                     \
		if (slo__diag((v)->s, SLO_DIAG_WARNING, (pos), __VA_ARGS__) != 0) \
			(v)->err = SLO_ERR_NOMEM;                                \
	} while (0)

static void check_labels(vctx *v, const slo_labels *l, const char *what, bool is_annotation)
{
	for (size_t i = 0; i < l->n; i++) {
		const slo_label *x = &l->v[i];
		if (!*x->name || !valid_utf8(x->name))
			VE(v, x->pos, "invalid %s key \"%s\"", what, x->name);
		else if (!is_annotation && strcmp(x->name, "__name__") == 0)
			VE(v, x->pos, "the %s key \"__name__\" is not allowed", what);
		else if (!is_annotation && !legacy_label(x->name))
			VW(v, x->pos, "%s key \"%s\" is not a classic Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)", what,
			   x->name);
		if (!x->value || !*x->value)
			VE(v, x->pos, "the %s \"%s\" needs a non-empty value", what, x->name);
		else if (!valid_utf8(x->value))
			VE(v, x->pos, "the %s \"%s\" value is not valid UTF-8", what, x->name);
	}
}

static void check_query(vctx *v, const slo_query *q, const char *what)
{
	if (!q->text || !*q->text) {
		VE(v, q->pos, "%s is required", what);
		return;
	}
	if (!q->selector && !slo__query_has_window(q->text)) {
		VE(v, q->pos, "%s must contain the {{.window}} template variable", what);
		return;
	}
	arena a;
	arena_init(&a, 0);
	slo__qmap map;
	char *r = slo__query_render(&a, q->text, "5m", &map);
	if (!r) {
		v->err = SLO_ERR_NOMEM;
		goto out;
	}
	const char *t = strstr(r, "{{");
	if (t) {
		VE(v, slo__query_pos(q, slo__query_unmap(&map, (size_t)(t - r))),
		   "%s: unsupported template action (only {{.window}} is available)", what);
		goto out;
	}
#ifdef SLO_HAVE_PROMQL
	{
		promql_expr *e = NULL;
		promql_error perr;
		memset(&perr, 0, sizeof perr);
		int rc = promql_parse(r, strlen(r), NULL, &e, &perr);
		if (rc == PROMQL_ERR_NOMEM) {
			v->err = SLO_ERR_NOMEM;
		} else if (rc != 0) {
			size_t off = perr.start <= strlen(r) ? perr.start : 0;
			VE(v, slo__query_pos(q, slo__query_unmap(&map, off)), "%s: invalid PromQL: %s", what,
			   perr.msg[0] ? perr.msg : "parse error");
		} else if (e && e->root && (e->root->type == PROMQL_TYPE_MATRIX || e->root->type == PROMQL_TYPE_STRING)) {
			/* A recording rule (and a rate() around a Pyrra selector) needs an instant vector. */
			size_t off = e->root->pos.start <= strlen(r) ? e->root->pos.start : 0;
			VE(v, slo__query_pos(q, slo__query_unmap(&map, off)),
			   "%s must give an instant vector, not a %s (wrap a range selector in rate() and sum())", what,
			   promql_value_type_name(e->root->type));
		}
		promql_expr_free(e);
	}
#else
	/* Integration point: PromQL syntax is checked once promql_parse() is linked in
	 * (SLO_HAVE_PROMQL); until then only a bracket balance check runs. */
	{
		int depth = 0;
		char quote = 0;
		for (size_t i = 0; r[i]; i++) {
			char c = r[i];
			if (quote) {
				if (c == '\\' && r[i + 1])
					i++;
				else if (c == quote)
					quote = 0;
				continue;
			}
			if (c == '"' || c == '\'' || c == '`')
				quote = c;
			else if (c == '(' || c == '{' || c == '[')
				depth++;
			else if (c == ')' || c == '}' || c == ']') {
				if (--depth < 0) {
					VE(v, slo__query_pos(q, slo__query_unmap(&map, i)),
					   "%s: invalid PromQL: unexpected \"%c\"", what, c);
					break;
				}
			}
		}
		if (depth > 0)
			VE(v, slo__query_pos(q, slo__query_unmap(&map, strlen(r))), "%s: invalid PromQL: unclosed bracket",
			   what);
	}
#endif
out:
	arena_deinit(&a);
}

static void check_fire(vctx *v, const slo_spec *slo, const slo_alert_tier *t, const char *tier, const char *speed,
		       const slo_window *w, int64_t period)
{
	if (t->disable || !slo->has_objective || slo->objective <= 0 || slo->objective > 100)
		return;
	double factor = slo_window_burn_factor(period, w);
	double budget = (100 - slo->objective) / 100;
	if (factor * budget > 1.0) {
		char lw[32];
		slo__dur(lw, sizeof lw, w->long_ms);
		VW(v, t->pos,
		   "%s %s window can never fire: a %.4gx burn rate over %s needs an error ratio of %.4g%% "
		   "with objective %.4g%% (more than 100%%)",
		   tier, speed, factor, lw, factor * budget * 100, slo->objective);
	}
}

static void check_slo(vctx *v, const slo_group *g, const slo_spec *slo, const slo_gen_options *opt)
{
	if (slo != &g->slos[0]) {
		/* The service belongs to the group: reported once, with its first SLO. */
	} else if (!slo->service || !*slo->service) {
		VE(v, slo->service_pos, "invalid SLO service: service is required");
	} else if (!valid_name(slo->service)) {
		VE(v, slo->service_pos, "invalid SLO service \"%s\": must start and end with an alphanumeric and "
		   "contain only alphanumerics, '.', '_' and '-'", slo->service);
	}
	if (!slo->name || !*slo->name) {
		VE(v, slo->name_pos, "invalid SLO name: name is required");
	} else if (!valid_name(slo->name)) {
		VE(v, slo->name_pos, "invalid SLO name \"%s\": must start and end with an alphanumeric and "
		   "contain only alphanumerics, '.', '_' and '-'", slo->name);
	}
	if (!slo->has_objective && isnan(slo->objective))
		; /* present but not a number: reported while loading */
	else if (!slo->has_objective)
		VE(v, slo->objective_pos, "objective is required (a percentage > 0 and <= 100)");
	else if (!(slo->objective > 0 && slo->objective <= 100))
		VE(v, slo->objective_pos, "objective must be > 0 and <= 100, not %g", slo->objective);
	check_labels(v, &slo->labels, "SLO label", false);
	if (slo->has_objective && slo->objective == 100)
		VW(v, slo->objective_pos, "objective 100 leaves no error budget: every error burns it at an infinite rate");
	static const char *const reserved[] = {"sloth_id", "sloth_service", "sloth_slo", "sloth_window"};
	for (size_t i = 0; i < slo->labels.n; i++)
		for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++)
			if (strcmp(slo->labels.v[i].name, reserved[k]) == 0)
				VW(v, slo->labels.v[i].pos,
				   "SLO label \"%s\" replaces the generated one, so the rules' %s selectors no longer "
				   "match their own series", reserved[k], reserved[k]);

	if (slo->n_parts) {
		size_t before = v->s->n_errors;
		for (size_t i = 0; i < slo->n_parts; i++)
			check_query(v, &slo->parts[i], slo->part_names[i]);
		if (slo->latency && v->s->n_errors == before)
			check_query(v, &slo->total_query, "slod.latency selector");
	} else switch (slo->sli_kind) {
	case SLO_SLI_NONE:
		if (!slo->latency) /* an invalid slod.latency was reported where it is wrong */
			VE(v, slo->sli_pos, "invalid SLI: at least one SLI type is required (events or raw)");
		break;
	case SLO_SLI_EVENTS:
		if (slo->error_query.text && slo->total_query.text && strcmp(slo->error_query.text, slo->total_query.text) == 0)
			VE(v, slo->total_query.pos, "invalid SLI: error and total queries can't be the same");
		check_query(v, &slo->error_query, slo->error_query.text ? "SLI error query" : "SLI error query (error_query)");
		if (!slo->error_query.text)
			VE(v, slo->sli_pos, "SLI events need an error query");
		check_query(v, &slo->total_query, "SLI total query");
		break;
	case SLO_SLI_RAW:
		check_query(v, &slo->error_ratio_query, "SLI raw error ratio query");
		break;
	}

	if ((!slo->alerting.page.disable || !slo->alerting.ticket.disable) &&
	    (!slo->alerting.name || !*slo->alerting.name))
		VE(v, slo->alerting.name_pos, "invalid alert: alerting.name is required while the %s enabled",
		   !slo->alerting.page.disable && !slo->alerting.ticket.disable ? "page and ticket alerts are" :
		   !slo->alerting.page.disable ? "page alert is" : "ticket alert is");
	for (int i = 0; i < 2; i++) {
		const slo_alert_tier *t = i == 0 ? &slo->alerting.page : &slo->alerting.ticket;
		if (t->disable)
			continue;
		check_labels(v, &t->labels, "alert label", false);
		check_labels(v, &t->annotations, "alert annotation", true);
	}

	int64_t period = slo_spec_period_ms(slo, opt);
	slo_windows wb;
	if (slo_spec_windows(v->s, slo, opt, &wb) != 0) {
		char d[32];
		slo__dur(d, sizeof d, period);
		VE(v, slo->period_pos.line ? slo->period_pos : g->pos,
		   "the %s SLO period time window is not supported (no AlertWindows catalog for it)", d);
		return;
	}
	const slo_windows *w = &wb;
	check_fire(v, slo, &slo->alerting.page, "page alert", "quick", &w->page_quick, period);
	check_fire(v, slo, &slo->alerting.page, "page alert", "slow", &w->page_slow, period);
	check_fire(v, slo, &slo->alerting.ticket, "ticket alert", "quick", &w->ticket_quick, period);
	check_fire(v, slo, &slo->alerting.ticket, "ticket alert", "slow", &w->ticket_slow, period);
	if (!slo->ext)
		return;
	/* slod extensions */
	if (slo->calendar != SLO_CAL_NONE) {
		char d[32];
		slo__dur(d, sizeof d, period);
		VW(v, slo->period_pos,
		   "calendar %s period: PromQL has no calendar windows, so generated rules (slod generate) use the "
		   "rolling %s equivalent; slod's own error budget (/api/v1/slos) counts from the start of the %s",
		   slo_calendar_name(slo->calendar), d, slo_calendar_name(slo->calendar));
	}
	if (slo->min_events > 0) {
		if (slo->sli_kind != SLO_SLI_EVENTS) {
			VE(v, slo->min_events_pos, "min_events needs an events SLI (sli.events or slod.latency): a raw error "
			   "ratio has no event count");
		} else if (slo->total_query.text) {
			buf b;
			buf_init(&b, 0);
			int rc = slo__min_events_expr(slo, 3600000, &b);
			buf_deinit(&b);
			if (rc == SLO_ERR_NOMEM)
				v->err = SLO_ERR_NOMEM;
			else if (rc != 0)
				VE(v, slo->min_events_pos, "min_events needs a total query made of rate() or increase() over "
				   "{{.window}} (summed), to count events");
		}
	}
	const slo_alert_tier *tiers[2] = {&slo->alerting.page, &slo->alerting.ticket};
	for (int i = 0; i < 2; i++) {
		const slo_alert_tier *t = tiers[i];
		const slo_window *cw[2] = {i == 0 ? &w->page_quick : &w->ticket_quick, i == 0 ? &w->page_slow : &w->ticket_slow};
		const slo_pos ps[2] = {t->quick_pos, t->slow_pos};
		for (int c = 0; c < 2; c++) {
			if (t->disable || !ps[c].line)
				continue;
			if (cw[c]->short_ms > cw[c]->long_ms)
				VW(v, ps[c], "%s %s: the short window is longer than the long window",
				   i == 0 ? "slod.page" : "slod.ticket", c == 0 ? "quick" : "slow");
			if (cw[c]->long_ms > period)
				VW(v, ps[c], "%s %s: the long window is longer than the SLO period",
				   i == 0 ? "slod.page" : "slod.ticket", c == 0 ? "quick" : "slow");
		}
	}
}

int slo_validate(slo_set *s, const slo_gen_options *opt)
{
	vctx v = {.s = s};
	size_t before = s->n_errors;
	for (size_t gi = 0; gi < s->n_groups && !v.err; gi++) {
		const slo_group *g = &s->groups[gi];
		for (size_t i = 0; i < g->n_slos && !v.err; i++) {
			const slo_spec *slo = &g->slos[i];
			check_slo(&v, g, slo, opt);
			/* Duplicate IDs across everything loaded (first occurrence wins). */
			bool dup = false;
			for (size_t gj = opt && opt->ignore_duplicates ? gi : 0; gj <= gi && !dup; gj++) {
				const slo_group *h = &s->groups[gj];
				size_t lim = gj == gi ? i : h->n_slos;
				for (size_t j = 0; j < lim && !dup; j++) {
					const slo_spec *o = &h->slos[j];
					if (o->id && slo->id && strcmp(o->id, slo->id) == 0) {
						VE(&v, slo->name_pos, "SLO ID \"%s\" is duplicated (SLO{service=%s, name=%s} already "
						   "defined at %s:%u:%u)", slo->id, slo->service, slo->name,
						   o->name_pos.file ? o->name_pos.file : "", o->name_pos.line, o->name_pos.col);
						dup = true;
					}
				}
			}
		}
	}
	if (v.err)
		return v.err;
	return (int)(s->n_errors - before);
}
