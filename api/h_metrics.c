/*
 * h_metrics.c — GET /metrics: slod's own metrics in the Prometheus text format (0.0.4), so a
 * Prometheus can scrape slod and slod can scrape itself through a remote-writing Prometheus.
 *
 * Sources: the server's api_metrics counters (HTTP requests by handler and code, remote-write
 * outcomes, oversized bodies), tsdb_get_stats (series, samples, rejections, chunks, WAL) once the
 * storage is ready, alerting_get_stats (notifications per target) when targets are configured, and
 * /proc/self for process_* metrics. Only non-zero per-code counters are written.
 * Cost: O(routes x codes + targets) plus one tsdb_get_stats call.
 */
#include "api/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alerting/alerting.h"
#include "tsdb/tsdb.h"
#include "util/fmt.h"

static void head(buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void line_u(buf *b, const char *name, uint64_t v)
{
	buf_printf(b, "%s %" PRIu64 "\n", name, v);
}

static void line_f(buf *b, const char *name, double v)
{
	char tmp[FMT_FLOAT_MAX];
	fmt_float_go(tmp, v, 'g');
	buf_printf(b, "%s %s\n", name, tmp);
}

static void metric_u(buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
	head(b, name, type, help);
	line_u(b, name, v);
}

static void process_metrics(buf *b, const api_server *s)
{
	head(b, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
	line_f(b, "process_start_time_seconds", (double)s->metrics.start_ms / 1000.0);
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
			     (double)ru.ru_stime.tv_usec / 1e6;
		head(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
		line_f(b, "process_cpu_seconds_total", cpu);
	}
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		unsigned long vsz = 0, rss = 0;
		if (fscanf(f, "%lu %lu", &vsz, &rss) == 2) {
			long page = sysconf(_SC_PAGESIZE);
			metric_u(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
				 (uint64_t)rss * (uint64_t)page);
			metric_u(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
				 (uint64_t)vsz * (uint64_t)page);
		}
		fclose(f);
	}
}

static void tsdb_metrics(buf *b, struct tsdb *db)
{
	tsdb_stats st;
	tsdb_get_stats(db, &st);
	metric_u(b, "slod_tsdb_series", "gauge", "Number of series in storage.", st.series);
	metric_u(b, "slod_tsdb_samples_appended_total", "counter", "Samples committed to storage.",
		 st.samples_appended);
	head(b, "slod_tsdb_samples_rejected_total", "counter", "Samples rejected by storage, by reason.");
	buf_printf(b, "slod_tsdb_samples_rejected_total{reason=\"out_of_order\"} %" PRIu64 "\n",
		   st.samples_out_of_order);
	buf_printf(b, "slod_tsdb_samples_rejected_total{reason=\"too_old\"} %" PRIu64 "\n", st.samples_too_old);
	metric_u(b, "slod_tsdb_samples_duplicate_total", "counter",
		 "Samples dropped quietly as exact duplicates.", st.samples_duplicate);
	metric_u(b, "slod_tsdb_chunks", "gauge", "Number of chunks in storage.", st.chunks);
	metric_u(b, "slod_tsdb_chunk_bytes", "gauge", "Compressed sample bytes in all chunks.", st.chunk_bytes);
	metric_u(b, "slod_tsdb_chunk_samples", "gauge", "Samples held in chunks.", st.chunk_samples);
	metric_u(b, "slod_tsdb_label_bytes", "gauge", "Interned label string bytes.", st.label_bytes);
	metric_u(b, "slod_tsdb_wal_bytes", "gauge", "Bytes in the write-ahead log.", st.wal_bytes);
	head(b, "slod_tsdb_wal_fsync_duration_seconds", "summary", "Duration of WAL fsync calls.");
	line_f(b, "slod_tsdb_wal_fsync_duration_seconds_sum", st.wal_fsync_seconds_total);
	line_u(b, "slod_tsdb_wal_fsync_duration_seconds_count", st.wal_fsyncs);
	if (st.min_time <= st.max_time) {
		head(b, "slod_tsdb_lowest_timestamp_seconds", "gauge", "Oldest sample timestamp in storage.");
		line_f(b, "slod_tsdb_lowest_timestamp_seconds", (double)st.min_time / 1000.0);
		head(b, "slod_tsdb_highest_timestamp_seconds", "gauge", "Newest sample timestamp in storage.");
		line_f(b, "slod_tsdb_highest_timestamp_seconds", (double)st.max_time / 1000.0);
	}
}

static void http_metrics(buf *b, const api_server *s)
{
	head(b, "slod_http_requests_total", "counter", "HTTP requests answered, by handler and status code.");
	for (size_t row = 0; row <= api__n_routes; row++) {
		const char *h = row < api__n_routes ? api__routes[row].pattern : "other";
		for (size_t c = 0; c < API_N_CODES; c++) {
			uint64_t v = atomic_load_explicit(&s->metrics.http[row * API_N_CODES + c], memory_order_relaxed);
			if (!v)
				continue;
			if (api__codes[c])
				buf_printf(b, "slod_http_requests_total{code=\"%d\",handler=\"%s\"} %" PRIu64 "\n",
					   api__codes[c], h, v);
			else
				buf_printf(b, "slod_http_requests_total{code=\"other\",handler=\"%s\"} %" PRIu64 "\n", h,
					   v);
		}
	}
	head(b, "slod_http_request_duration_seconds", "summary", "Time spent answering HTTP requests, by handler.");
	for (size_t row = 0; row <= api__n_routes; row++) {
		uint64_t n = 0;
		for (size_t c = 0; c < API_N_CODES; c++)
			n += atomic_load_explicit(&s->metrics.http[row * API_N_CODES + c], memory_order_relaxed);
		if (!n)
			continue;
		const char *h = row < api__n_routes ? api__routes[row].pattern : "other";
		char v[FMT_FLOAT_MAX];
		fmt_float_go(v, (double)atomic_load_explicit(&s->metrics.http_us[row], memory_order_relaxed) / 1e6, 'g');
		buf_printf(b, "slod_http_request_duration_seconds_sum{handler=\"%s\"} %s\n", h, v);
		buf_printf(b, "slod_http_request_duration_seconds_count{handler=\"%s\"} %" PRIu64 "\n", h, n);
	}
	metric_u(b, "slod_http_request_body_too_large_total", "counter",
		 "Requests refused with 413 because the body exceeded --web.max-body-bytes.",
		 atomic_load_explicit(&s->metrics.body_too_large, memory_order_relaxed));
	metric_u(b, "slod_http_request_body_budget_exceeded_total", "counter",
		 "Requests refused with 503 because all request bodies in flight exceeded the server's budget.",
		 atomic_load_explicit(&s->metrics.body_budget_exceeded, memory_order_relaxed));
	metric_u(b, "slod_http_request_body_bytes_buffered", "gauge", "Bytes of request bodies held right now.",
		 (uint64_t)atomic_load_explicit(&s->buffered, memory_order_relaxed));
}

/* Writes a label value escaped as the text format wants (backslash, double quote, newline). */
static void label_value(buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *v);
	}
}

#define METRICS_MAX_TARGETS 64

/* Notification delivery per target (alerting_get_stats): the counters of the delivery state
 * machine in alerting.h, the queue length and the creation time of the oldest queued item. */
static void alerting_metrics(buf *b, struct alerting *al)
{
	alerting_target_stats st[METRICS_MAX_TARGETS];
	size_t n = alerting_get_stats(al, st, METRICS_MAX_TARGETS);
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{"slod_alerting_notifications_sent_total", "counter", "Notifications delivered (2xx), by target."},
		{"slod_alerting_notifications_retried_total", "counter",
		 "Failed delivery attempts that were scheduled for a retry (5xx, 429, connection errors), by target."},
		{"slod_alerting_notifications_failed_total", "counter",
		 "Notifications rejected with a non-retriable 4xx and removed, by target."},
		{"slod_alerting_notifications_dropped_total", "counter",
		 "Notifications given up after the give-up age, by target."},
		{"slod_alerting_queue_length", "gauge", "Notifications waiting for delivery, by target."},
		{"slod_alerting_queue_oldest_timestamp_seconds", "gauge",
		 "Creation time of the oldest queued notification (0 when the queue is empty), by target."},
	};
	for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
		head(b, fam[f].name, fam[f].type, fam[f].help);
		for (size_t i = 0; i < n; i++) {
			uint64_t v[] = {st[i].sent, st[i].retried, st[i].failed, st[i].dropped, st[i].queued};
			buf_printf(b, "%s{target=\"", fam[f].name);
			label_value(b, st[i].name ? st[i].name : "");
			if (f < 5) {
				buf_printf(b, "\"} %" PRIu64 "\n", v[f]);
			} else {
				char t[FMT_FLOAT_MAX];
				fmt_float_go(t, (double)st[i].oldest_queued_ms / 1000.0, 'g');
				buf_printf(b, "\"} %s\n", t);
			}
		}
	}
}

void api__h_metrics(api_req *r)
{
	api_server *s = r->srv;
	buf *b = &r->out;
	buf_reset(b);
	head(b, "slod_build_info", "gauge", "slod build information.");
	buf_printf(b, "slod_build_info{revision=\"%s\",version=\"%s\"} 1\n", s->revision, s->version);
	metric_u(b, "slod_ready", "gauge", "1 once the storage has replayed its WAL and serves queries.",
		 atomic_load_explicit(&s->ready, memory_order_acquire) ? 1 : 0);
	process_metrics(b, s);
	http_metrics(b, s);
	api__metrics_ingest(r, b);
	if (atomic_load_explicit(&s->ready, memory_order_acquire))
		tsdb_metrics(b, s->backend.db);
	if (atomic_load_explicit(&s->ready, memory_order_acquire) && s->backend.alerting)
		alerting_metrics(b, s->backend.alerting);
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	r->replied = true;
}
