/*
 * rwgen.c — remote-write load generator (main): pre-encodes the whole load (rwgen_plan_build),
 * then replays it over --conns keep-alive HTTP/1.1 connections, one thread each (rwgen_send: a
 * series' next sample is sent only after its previous one was answered), and reports.
 * --rate S paces the start of request r to r*batch/S seconds after the first.
 *
 * Output: a human summary on stderr, and one machine-readable line on stdout:
 *   RESULT series=.. samples_per_series=.. requests=.. sent_samples=.. acked_samples=..
 *          acked_requests=.. non2xx=.. net_errors=.. wall_s=.. samples_per_s=.. encode_s=..
 *          wire_bytes=.. raw_bytes=.. start_ms=.. end_ms=.. lat_p50_ms=.. lat_p99_ms=.. lat_max_ms=..
 *          gen_cpu_s=.. (the generator's own CPU while sending)
 *          status_204=.. [status_NNN=..]
 * "acked" means a 2xx answer. Non-2xx answers and network errors are counted, never retried
 * (except a keep-alive connection found closed before any response byte, which is retried once).
 * Exit status: 0 if every request was acknowledged, 1 if some were not, 2 on usage/setup errors.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/rwgen.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: rwgen [options]\n"
	        "  --url URL          remote-write endpoint (default http://127.0.0.1:9099/api/v1/write)\n"
	        "  --series N         active series (default 100000)\n"
	        "  --samples N        samples per series, one per step (default 120)\n"
	        "  --step-ms MS       spacing of samples (default 15000)\n"
	        "  --start-ms MS      timestamp of the first step (default: now - samples*step - 60 s)\n"
	        "  --batch N          samples (= series) per request (default 2500)\n"
	        "  --conns N          concurrent connections (default 4)\n"
	        "  --rate S           pace to S samples/s (default 0 = as fast as acknowledged)\n"
	        "  --seed N           value/model seed (default 1)\n"
	        "  --only KIND        counters | gauges: restrict the model to one class of series\n"
	        "  --encode-only      build the plan, print its size, send nothing\n"
	        "  --list-names       print the model's metric names (with --series: those present) and exit\n");
}

int main(int argc, char **argv)
{
	const char *url = "http://127.0.0.1:9099/api/v1/write";
	long long series = 100000, samples = 120, step_ms = 15000, start_ms = -1, batch = 2500, conns = 4, seed = 1;
	double rate = 0;
	bool encode_only = false, list_names = false;
	int only = RWGEN_ONLY_ALL;
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},     {"series", required_argument, NULL, 's'},
		{"samples", required_argument, NULL, 'n'}, {"step-ms", required_argument, NULL, 'p'},
		{"start-ms", required_argument, NULL, 't'}, {"batch", required_argument, NULL, 'b'},
		{"conns", required_argument, NULL, 'c'},   {"rate", required_argument, NULL, 'r'},
		{"seed", required_argument, NULL, 'S'},    {"encode-only", no_argument, NULL, 'E'},
		{"list-names", no_argument, NULL, 'L'},    {"only", required_argument, NULL, 'O'},
		{"help", no_argument, NULL, 'h'},          {0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u': url = optarg; break;
		case 's': series = atoll(optarg); break;
		case 'n': samples = atoll(optarg); break;
		case 'p': step_ms = atoll(optarg); break;
		case 't': start_ms = atoll(optarg); break;
		case 'b': batch = atoll(optarg); break;
		case 'c': conns = atoll(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'S': seed = atoll(optarg); break;
		case 'E': encode_only = true; break;
		case 'L': list_names = true; break;
		case 'O':
			if (strcmp(optarg, "counters") == 0)
				only = RWGEN_ONLY_COUNTERS;
			else if (strcmp(optarg, "gauges") == 0)
				only = RWGEN_ONLY_GAUGES;
			else
				only = -1;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (series <= 0 || samples <= 0 || samples > 1000000 || step_ms <= 0 || batch <= 0 || batch > 1000000 ||
	    conns <= 0 || conns > 256) {
		usage(stderr);
		return 2;
	}
	char host[64], path[256];
	int port;
	if (rwgen_parse_url(url, host, sizeof(host), &port, path, sizeof(path)) != 0) {
		fprintf(stderr, "rwgen: bad --url %s (want http://IPv4:port/path)\n", url);
		return 2;
	}
	if (start_ms < 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		start_ms = now - samples * step_ms - 60000;
		start_ms -= start_ms % step_ms;
	}

	rwgen_model m;
	rwgen_plan plan;
	char err[256];
	if (rwgen_model_init(&m, (size_t)series, (uint64_t)seed, only) != 0) {
		fprintf(stderr, "rwgen: out of memory or bad --only\n");
		return 2;
	}
	if (list_names) {
		/* names of the series that exist: the first min(series, n_tmpl) template entries */
		for (size_t k = 0; k < rwgen_model_n_names(&m); k++) {
			const char *name = rwgen_model_name(&m, k);
			bool present = false;
			for (size_t i = 0; i < m.n_series && i < m.n_tmpl && !present; i++) {
				rwgen_label l[RWGEN_MAX_LABELS + 2];
				present = rwgen_model_labels(&m, i, l, RWGEN_MAX_LABELS + 2) > 0 && strcmp(l[0].value, name) == 0;
			}
			if (present)
				printf("%s\n", name);
		}
		rwgen_model_deinit(&m);
		return 0;
	}
	double te = now_s();
	if (rwgen_plan_build(&plan, &m, (uint32_t)samples, (uint32_t)batch, start_ms, step_ms, err, sizeof(err)) != 0) {
		fprintf(stderr, "rwgen: %s\n", err);
		rwgen_model_deinit(&m);
		return 2;
	}
	double encode_s = now_s() - te;
	fprintf(stderr,
	        "rwgen: %lld series (%zu targets x %zu, %zu metric names), %" PRIu64 " samples in %zu requests, "
	        "%.1f MiB on the wire (%.2f B/sample, %.1f MiB raw protobuf), encoded in %.2f s\n",
	        series, m.n_targets, m.n_tmpl, rwgen_model_n_names(&m), plan.n_samples, plan.n_reqs,
	        (double)plan.wire_bytes / 1048576.0, (double)plan.wire_bytes / (double)plan.n_samples,
	        (double)plan.raw_bytes / 1048576.0, encode_s);
	if (encode_only) {
		printf("RESULT series=%lld requests=%zu sent_samples=%" PRIu64 " wire_bytes=%" PRIu64 " raw_bytes=%" PRIu64
		       " encode_s=%.3f\n",
		       series, plan.n_reqs, plan.n_samples, plan.wire_bytes, plan.raw_bytes, encode_s);
		rwgen_plan_deinit(&plan);
		rwgen_model_deinit(&m);
		return 0;
	}

	rwgen_stats st;
	rwgen_send_opts so = {.host = host, .port = port, .path = path, .conns = (int)conns, .rate = rate};
	int rc = 2;
	if (rwgen_send(&plan, &so, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "rwgen: %s\n", err);
		goto out;
	}
	int64_t end_ms = start_ms + (samples - 1) * step_ms;
	printf("RESULT series=%lld samples_per_series=%lld requests=%zu sent_samples=%" PRIu64 " acked_samples=%" PRIu64
	       " acked_requests=%" PRIu64 " non2xx=%" PRIu64 " net_errors=%" PRIu64
	       " wall_s=%.3f samples_per_s=%.0f encode_s=%.3f wire_bytes=%" PRIu64 " raw_bytes=%" PRIu64
	       " start_ms=%" PRId64 " end_ms=%" PRId64 " lat_p50_ms=%.2f lat_p99_ms=%.2f lat_max_ms=%.2f gen_cpu_s=%.3f",
	       series, samples, plan.n_reqs, plan.n_samples, st.acked_samples, st.acked_reqs, st.non2xx,
	       st.net_errors, st.wall_s, (double)st.acked_samples / st.wall_s, encode_s, plan.wire_bytes,
	       plan.raw_bytes, (int64_t)start_ms, end_ms, st.lat_p50_ms, st.lat_p99_ms, st.lat_max_ms, st.gen_cpu_s);
	for (int s = 0; s < RWGEN_MAX_STATUS; s++)
		if (st.status[s])
			printf(" status_%d=%" PRIu64, s, st.status[s]);
	printf("\n");
	fflush(stdout);
	fprintf(stderr, "rwgen: %" PRIu64 "/%" PRIu64 " samples acknowledged in %.2f s = %.0f samples/s over %d conns; "
	        "%" PRIu64 " non-2xx, %" PRIu64 " network errors; latency p50 %.1f ms p99 %.1f ms max %.1f ms\n",
	        st.acked_samples, plan.n_samples, st.wall_s, (double)st.acked_samples / st.wall_s, st.conns,
	        st.non2xx, st.net_errors, st.lat_p50_ms, st.lat_p99_ms, st.lat_max_ms);
	if (st.first_error[0])
		fprintf(stderr, "rwgen: first failure: %s\n", st.first_error);
	rc = st.acked_samples == plan.n_samples ? 0 : 1;
out:
	rwgen_plan_deinit(&plan);
	rwgen_model_deinit(&m);
	return rc;
}
