/*
 * h_federate.c — GET /federate?match[]=...: the newest sample of every selected series in the
 * Prometheus text format (0.0.4), as Prometheus's /federate serves it, so another Prometheus can
 * scrape slod's recorded SLO series (slo:sli_error:ratio_rate5m, ALERTS, ...) with
 * `honor_labels: true` and `metrics_path: /federate`.
 *
 * A series is exported when its newest sample within the lookback (5 minutes before now) is not a
 * stale marker. Output is grouped by metric name with one `# TYPE <name> untyped` line per name,
 * series sorted by labels, each line `name{labels} value timestamp_ms`. Values use Go's shortest
 * formatting (NaN, +Inf, -Inf as in the text format). Cost: decodes the last 5 minutes of each
 * selected series.
 */
#include "api/internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/fmt.h"

#define FEDERATE_LOOKBACK_MS (5 * 60 * 1000)

/* Appends {a="b",...} without __name__, escaping \\, " and newline as the text format requires. */
static void put_labels(buf *b, const slod_labels *ls)
{
	bool first = true;
	for (size_t i = 0; i < ls->n; i++) {
		if (strcmp(ls->v[i].name, SLOD_METRIC_NAME) == 0)
			continue;
		buf_puts(b, first ? "{" : ",");
		first = false;
		buf_puts(b, ls->v[i].name);
		buf_puts(b, "=\"");
		for (const char *c = ls->v[i].value; *c; c++) {
			if (*c == '\\')
				buf_puts(b, "\\\\");
			else if (*c == '"')
				buf_puts(b, "\\\"");
			else if (*c == '\n')
				buf_puts(b, "\\n");
			else
				buf_putc(b, *c);
		}
		buf_putc(b, '"');
	}
	if (!first)
		buf_putc(b, '}');
}

static int by_name(const void *a, const void *b)
{
	const tsdb_series *x = a, *y = b;
	const char *nx = labels_get(x->labels, SLOD_METRIC_NAME), *ny = labels_get(y->labels, SLOD_METRIC_NAME);
	int c = strcmp(nx ? nx : "", ny ? ny : "");
	return c ? c : labels_cmp(x->labels, y->labels);
}

void api__h_federate(api_req *r)
{
	api_match_set *sets;
	size_t nsets;
	if (api__parse_match_sets(r, true, &sets, &nsets) != 0)
		return;
	int64_t now = slod_clock_now(&r->srv->opt.clock);
	tsdb_series *s;
	size_t n;
	tsdb_querier *q = api__select_open(r, sets, nsets, now - FEDERATE_LOOKBACK_MS, now, &s, &n);
	if (!q)
		return;
	tsdb_sample *smp = NULL;
	size_t cap = 0;
	/* group by metric name even when a label name sorts before __name__ ("A" < "_") */
	if (n > 1) {
		tsdb_series *copy = arena_alloc(&r->arena, n * sizeof *copy);
		if (!copy) {
			api__reply_error(r, API_ERR_INTERNAL, "out of memory");
			goto out;
		}
		memcpy(copy, s, n * sizeof *copy);
		qsort(copy, n, sizeof *copy, by_name);
		s = copy;
	}
	buf *b = &r->out;
	buf_reset(b);
	const char *last_name = NULL;
	for (size_t i = 0; i < n; i++) {
		long ns = tsdb_querier_samples(q, s[i].ref, now - FEDERATE_LOOKBACK_MS, now, &smp, &cap);
		if (ns < 0) {
			api__reply_error(r, API_ERR_EXECUTION, "reading samples failed");
			goto out;
		}
		if (ns == 0)
			continue;
		tsdb_sample last = smp[ns - 1];
		uint64_t bits;
		memcpy(&bits, &last.v, sizeof bits);
		if (bits == TSDB_STALE_NAN_BITS)
			continue;
		const char *name = labels_get(s[i].labels, SLOD_METRIC_NAME);
		if (!name)
			name = "";
		if (!last_name || strcmp(last_name, name) != 0) {
			buf_printf(b, "# TYPE %s untyped\n", name);
			last_name = name;
		}
		char v[FMT_FLOAT_MAX];
		fmt_float_go(v, last.v, 'g');
		buf_puts(b, name);
		put_labels(b, s[i].labels);
		buf_printf(b, " %s %" PRId64 "\n", v, last.t);
	}
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	r->replied = true;
out:
	free(smp);
	tsdb_querier_close(q);
}
