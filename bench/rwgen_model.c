/*
 * rwgen_model.c — the synthetic series model of the load generator.
 *
 * Layout: one template of ~300 series that every scrape target exports (what a node exporter plus
 * an instrumented Go HTTP service would expose), built once from the family table below by
 * expanding each family's label dimensions (cpu x mode, method x handler x le, ...). Series i is
 * template entry i % n_tmpl of target i / n_tmpl; targets get a job (one of six) and an instance
 * "10.<a>.<b>.<c>:<port>". So 100k series = ~330 targets x ~300 series, ~50 metric names.
 *
 * Values: a deterministic function of (seed, series, step) through splitmix64, so two runs with the
 * same seed produce identical requests. Counters are idle (about a third: error codes, unused
 * buckets, steal/irq cpu modes; they move in 5-10% of the steps), low-rate (a few per step) or busy
 * (hundreds per step), with integer or 0.01-resolution increments; gauges random-walk on integers,
 * on pages of 4096 bytes (moving in half of the steps) or in 0.01 steps, or stay constant — the mix
 * real exporters produce, which is what a Gorilla/XOR chunk sees.
 *
 * Invariants: every template entry has labels sorted by name with __name__ first, and the
 * expansion yields distinct label sets (distinct dimension tuples per family); job/instance are
 * merged in sorted position by rwgen_model_labels(). Costs: init O(n_targets + n_tmpl);
 * labels(i) O(labels); values_next O(1).
 */
#include "bench/rwgen.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Uniform double in [0, 1) from a hash of (a, b, c). */
static double unit3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t h = splitmix64(a ^ splitmix64(b ^ splitmix64(c)));
	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- the family table --------------------------------------------------------------------- */

#define MAX_DIMS 3

typedef struct dim {
	const char *name;
	const char *const *values; /* NULL-terminated */
} dim;

typedef struct family {
	const char *name;
	rwgen_kind kind;
	dim dims[MAX_DIMS];
} family;

static const char *const CPUS[] = {"0", "1", NULL};
static const char *const MODES[] = {"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user", NULL};
static const char *const DEVS[] = {"nvme0n1", "sda", NULL};
static const char *const NICS[] = {"eth0", "lo", NULL};
static const char *const MOUNTS[] = {"/", "/boot", "/var/lib/data", NULL};
static const char *const METHODS[] = {"GET", "POST", NULL};
static const char *const HANDLERS[] = {"/api/v1/orders", "/api/v1/users", "/api/v1/items", "/healthz",
                                       "/login", "/metrics", NULL};
static const char *const CODES[] = {"200", "404", "500", NULL};
static const char *const LES[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
                                  "5", "10", "+Inf", NULL};
static const char *const QUANTILES[] = {"0", "0.25", "0.5", "0.75", "1", NULL};
static const char *const GRPC_SVC[] = {"inventory.Stock", "payments.Ledger", NULL};
static const char *const GRPC_METH[] = {"Get", "List", "Update", NULL};
static const char *const GRPC_CODE[] = {"OK", "NotFound", "Unavailable", NULL};
static const char *const SIZE_LES[] = {"100", "1000", "10000", "100000", "1e+06", "+Inf", NULL};

#define D(n, v) {n, v}
static const family FAMILIES[] = {
	{"node_cpu_seconds_total", RWGEN_COUNTER_FLOAT, {D("cpu", CPUS), D("mode", MODES)}},
	{"node_memory_MemAvailable_bytes", RWGEN_GAUGE_PAGES, {{0}}},
	{"node_memory_MemFree_bytes", RWGEN_GAUGE_PAGES, {{0}}},
	{"node_memory_Cached_bytes", RWGEN_GAUGE_PAGES, {{0}}},
	{"node_memory_Buffers_bytes", RWGEN_GAUGE_PAGES, {{0}}},
	{"node_memory_MemTotal_bytes", RWGEN_GAUGE_CONST, {{0}}},
	{"node_load1", RWGEN_GAUGE_FLOAT, {{0}}},
	{"node_load5", RWGEN_GAUGE_FLOAT, {{0}}},
	{"node_load15", RWGEN_GAUGE_FLOAT, {{0}}},
	{"node_filesystem_avail_bytes", RWGEN_GAUGE_PAGES, {D("mountpoint", MOUNTS)}},
	{"node_filesystem_size_bytes", RWGEN_GAUGE_CONST, {D("mountpoint", MOUNTS)}},
	{"node_network_receive_bytes_total", RWGEN_COUNTER_INT, {D("device", NICS)}},
	{"node_network_transmit_bytes_total", RWGEN_COUNTER_INT, {D("device", NICS)}},
	{"node_network_receive_packets_total", RWGEN_COUNTER_INT, {D("device", NICS)}},
	{"node_network_transmit_packets_total", RWGEN_COUNTER_INT, {D("device", NICS)}},
	{"node_disk_read_bytes_total", RWGEN_COUNTER_INT, {D("device", DEVS)}},
	{"node_disk_written_bytes_total", RWGEN_COUNTER_INT, {D("device", DEVS)}},
	{"node_disk_io_time_seconds_total", RWGEN_COUNTER_FLOAT, {D("device", DEVS)}},
	{"node_context_switches_total", RWGEN_COUNTER_INT, {{0}}},
	{"node_intr_total", RWGEN_COUNTER_INT, {{0}}},
	{"node_boot_time_seconds", RWGEN_GAUGE_CONST, {{0}}},
	{"node_procs_running", RWGEN_GAUGE_INT, {{0}}},
	{"http_requests_total", RWGEN_COUNTER_INT, {D("code", CODES), D("handler", HANDLERS), D("method", METHODS)}},
	{"http_request_duration_seconds_bucket", RWGEN_COUNTER_INT, {D("handler", HANDLERS), D("le", LES), D("method", METHODS)}},
	{"http_request_duration_seconds_sum", RWGEN_COUNTER_FLOAT, {D("handler", HANDLERS), D("method", METHODS)}},
	{"http_request_duration_seconds_count", RWGEN_COUNTER_INT, {D("handler", HANDLERS), D("method", METHODS)}},
	{"http_response_size_bytes_bucket", RWGEN_COUNTER_INT, {D("handler", HANDLERS), D("le", SIZE_LES)}},
	{"http_response_size_bytes_sum", RWGEN_COUNTER_INT, {D("handler", HANDLERS)}},
	{"http_response_size_bytes_count", RWGEN_COUNTER_INT, {D("handler", HANDLERS)}},
	{"http_requests_in_flight", RWGEN_GAUGE_INT, {{0}}},
	{"grpc_server_handled_total", RWGEN_COUNTER_INT, {D("grpc_code", GRPC_CODE), D("grpc_method", GRPC_METH), D("grpc_service", GRPC_SVC)}},
	{"grpc_server_started_total", RWGEN_COUNTER_INT, {D("grpc_method", GRPC_METH), D("grpc_service", GRPC_SVC)}},
	{"process_cpu_seconds_total", RWGEN_COUNTER_FLOAT, {{0}}},
	{"process_resident_memory_bytes", RWGEN_GAUGE_PAGES, {{0}}},
	{"process_virtual_memory_bytes", RWGEN_GAUGE_PAGES, {{0}}},
	{"process_open_fds", RWGEN_GAUGE_INT, {{0}}},
	{"process_max_fds", RWGEN_GAUGE_CONST, {{0}}},
	{"process_start_time_seconds", RWGEN_GAUGE_CONST, {{0}}},
	{"go_goroutines", RWGEN_GAUGE_INT, {{0}}},
	{"go_threads", RWGEN_GAUGE_INT, {{0}}},
	{"go_memstats_alloc_bytes", RWGEN_GAUGE_PAGES, {{0}}},
	{"go_memstats_heap_inuse_bytes", RWGEN_GAUGE_PAGES, {{0}}},
	{"go_memstats_alloc_bytes_total", RWGEN_COUNTER_INT, {{0}}},
	{"go_memstats_mallocs_total", RWGEN_COUNTER_INT, {{0}}},
	{"go_memstats_frees_total", RWGEN_COUNTER_INT, {{0}}},
	{"go_gc_duration_seconds", RWGEN_GAUGE_FLOAT, {D("quantile", QUANTILES)}},
	{"go_gc_duration_seconds_sum", RWGEN_COUNTER_FLOAT, {{0}}},
	{"go_gc_duration_seconds_count", RWGEN_COUNTER_INT, {{0}}},
	{"up", RWGEN_GAUGE_CONST, {{0}}},
	{"scrape_duration_seconds", RWGEN_GAUGE_FLOAT, {{0}}},
	{"scrape_samples_scraped", RWGEN_GAUGE_CONST, {{0}}},
};
#undef D
#define N_FAMILIES (sizeof(FAMILIES) / sizeof(FAMILIES[0]))

static const char *const JOBS[] = {"api", "checkout", "node", "payments", "search", "web"};
#define N_JOBS (sizeof(JOBS) / sizeof(JOBS[0]))

static size_t dim_len(const dim *d)
{
	size_t n = 0;
	if (!d->name)
		return 1; /* absent dimension multiplies by one */
	while (d->values[n])
		n++;
	return n;
}

static int label_cmp(const void *a, const void *b)
{
	const rwgen_label *x = a, *y = b;
	return strcmp(x->name, y->name);
}

/* Expands family f into out (when non-NULL); returns how many series it has. */
static size_t family_expand(const family *f, rwgen_tmpl *out)
{
	size_t n0 = dim_len(&f->dims[0]), n1 = dim_len(&f->dims[1]), n2 = dim_len(&f->dims[2]);
	size_t total = n0 * n1 * n2;
	if (!out)
		return total;
	for (size_t k = 0; k < total; k++) {
		size_t idx[MAX_DIMS] = {k % n0, (k / n0) % n1, k / (n0 * n1)};
		rwgen_tmpl *t = &out[k];
		t->kind = f->kind;
		t->labels[0] = (rwgen_label){"__name__", f->name};
		t->n_labels = 1;
		for (int d = 0; d < MAX_DIMS; d++) {
			if (!f->dims[d].name)
				continue;
			t->labels[t->n_labels++] = (rwgen_label){f->dims[d].name, f->dims[d].values[idx[d]]};
		}
		/* "__name__" sorts before any lower-case name, so sorting keeps it first. */
		qsort(t->labels, (size_t)t->n_labels, sizeof(t->labels[0]), label_cmp);
	}
	return total;
}

static bool is_counter(rwgen_kind k)
{
	return k == RWGEN_COUNTER_INT || k == RWGEN_COUNTER_FLOAT;
}

static bool family_wanted(const family *f, int only)
{
	return only == RWGEN_ONLY_ALL || (only == RWGEN_ONLY_COUNTERS) == is_counter(f->kind);
}

int rwgen_model_init(rwgen_model *m, size_t n_series, uint64_t seed, int only)
{
	size_t n_tmpl = 0;
	memset(m, 0, sizeof(*m));
	if (only != RWGEN_ONLY_ALL && only != RWGEN_ONLY_COUNTERS && only != RWGEN_ONLY_GAUGES)
		return -1;
	for (size_t f = 0; f < N_FAMILIES; f++)
		if (family_wanted(&FAMILIES[f], only))
			n_tmpl += family_expand(&FAMILIES[f], NULL);
	m->tmpl = calloc(n_tmpl, sizeof(*m->tmpl));
	m->n_targets = n_series ? (n_series + n_tmpl - 1) / n_tmpl : 0;
	m->instance = calloc(m->n_targets ? m->n_targets : 1, sizeof(*m->instance));
	if (!m->tmpl || !m->instance) {
		free(m->tmpl);
		free(m->instance);
		memset(m, 0, sizeof(*m));
		return -1;
	}
	for (size_t f = 0, at = 0; f < N_FAMILIES; f++)
		if (family_wanted(&FAMILIES[f], only))
			at += family_expand(&FAMILIES[f], &m->tmpl[at]);
	m->n_tmpl = n_tmpl;
	m->n_series = n_series;
	m->seed = seed;
	for (size_t k = 0; k < m->n_targets; k++)
		snprintf(m->instance[k], sizeof(m->instance[k]), "10.%u.%u.%u:%u", (unsigned)(k / 65536) % 256,
		         (unsigned)(k / 256) % 256, (unsigned)k % 256, 9100u + (unsigned)(k % 3) * 1000u);
	return 0;
}

void rwgen_model_deinit(rwgen_model *m)
{
	free(m->tmpl);
	free(m->instance);
	memset(m, 0, sizeof(*m));
}

size_t rwgen_model_n_names(const rwgen_model *m)
{
	(void)m;
	return N_FAMILIES;
}

int rwgen_model_labels(const rwgen_model *m, size_t i, rwgen_label *out, int cap)
{
	if (i >= m->n_series)
		return -1;
	const rwgen_tmpl *t = &m->tmpl[i % m->n_tmpl];
	size_t target = i / m->n_tmpl;
	rwgen_label extra[2] = {{"instance", m->instance[target]}, {"job", JOBS[target % N_JOBS]}};
	if (t->n_labels + 2 > cap)
		return -1;
	/* Merge two sorted lists. */
	int a = 0, b = 0, n = 0;
	while (a < t->n_labels || b < 2) {
		if (b >= 2 || (a < t->n_labels && strcmp(t->labels[a].name, extra[b].name) < 0))
			out[n++] = t->labels[a++];
		else
			out[n++] = extra[b++];
	}
	return n;
}

const char *rwgen_model_name(const rwgen_model *m, size_t k)
{
	(void)m;
	return k < N_FAMILIES ? FAMILIES[k].name : NULL;
}

rwgen_kind rwgen_model_kind(const rwgen_model *m, size_t i)
{
	return m->tmpl[i % m->n_tmpl].kind;
}

/* ---- values ------------------------------------------------------------------------------- */

int rwgen_values_init(rwgen_values *vs, const rwgen_model *m)
{
	vs->n = m->n_series;
	vs->seed = m->seed;
	vs->v = calloc(vs->n ? vs->n : 1, sizeof(double));
	return vs->v ? 0 : -1;
}

void rwgen_values_deinit(rwgen_values *vs)
{
	free(vs->v);
	vs->v = NULL;
	vs->n = 0;
}

static double round_to(double x, double q)
{
	long long k = (long long)(x / q + (x >= 0 ? 0.5 : -0.5));
	return (double)k * q;
}

double rwgen_values_next(rwgen_values *vs, const rwgen_model *m, size_t i, uint64_t t)
{
	rwgen_kind kind = rwgen_model_kind(m, i);
	double r0 = unit3(vs->seed, i, 0x5eed);  /* per-series constant: rate / level */
	double rt = unit3(vs->seed, i, t + 1);    /* per-step noise */
	double rp = unit3(vs->seed ^ 0xa5a5a5a5ULL, i, t + 1); /* per-step "does it move" draw */
	double *v = &vs->v[i];

	if (t == 0) {
		switch (kind) {
		case RWGEN_COUNTER_INT: *v = (double)(long long)(r0 * 1e6); break;
		case RWGEN_COUNTER_FLOAT: *v = round_to(r0 * 1e5, 0.01); break;
		case RWGEN_GAUGE_INT: *v = (double)(long long)(r0 * 200) + 5; break;
		case RWGEN_GAUGE_PAGES: *v = (double)((long long)(r0 * 4e6) * 4096); break;
		case RWGEN_GAUGE_FLOAT: *v = round_to(r0 * 4, 0.01); break;
		case RWGEN_GAUGE_CONST: *v = (double)(long long)(r0 * 1e9); break;
		}
		return *v;
	}
	switch (kind) {
	case RWGEN_COUNTER_INT:
		if (r0 < 0.35) /* idle: an error code, an unused bucket; moves in 5% of the steps */
			*v += rp < 0.05 ? (double)(1 + (long long)(rt * 3)) : 0.0;
		else if (r0 < 0.8) /* low rate: up to ~20 per step */
			*v += (double)(long long)(rt * 2.0 * (1.0 + (r0 - 0.35) * 20.0));
		else /* busy: bytes, packets, hot handlers, up to ~1500 per step */
			*v += (double)(long long)((0.5 + rt) * (r0 - 0.8) * 7500.0);
		break;
	case RWGEN_COUNTER_FLOAT:
		if (r0 < 0.3) /* idle: steal, irq, nice; moves by 0.01 in 10% of the steps */
			*v = round_to(*v + (rp < 0.1 ? 0.01 : 0.0), 0.01);
		else
			*v = round_to(*v + (r0 - 0.3) * 15.0 * (0.5 + rt), 0.01);
		break;
	case RWGEN_GAUGE_INT:
		*v += (double)((long long)(rt * 5) - 2);
		if (*v < 0)
			*v = 0;
		break;
	case RWGEN_GAUGE_PAGES: /* changes in half of the steps */
		if (rp < 0.5)
			*v += (double)(((long long)(rt * 201) - 100) * 4096);
		if (*v < 0)
			*v = 0;
		break;
	case RWGEN_GAUGE_FLOAT:
		*v = round_to(*v + (rt - 0.5) * 0.2, 0.01);
		if (*v < 0)
			*v = 0;
		break;
	case RWGEN_GAUGE_CONST:
		break;
	}
	return *v;
}
