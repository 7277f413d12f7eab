/*
 * gen_remote_write_corpus.c — writes the seed corpus of fuzz_remote_write into a directory:
 * valid requests built with the generated prompb encoder (both snappy-compressed and raw
 * protobuf, since the target feeds each input both ways) and a few broken ones (truncated,
 * a snappy header declaring 1 GiB, a wire-type mismatch). Usage: gen_remote_write_corpus <dir>
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "ingest/prompb/remote.pb-c.h"

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(p, 1, n, f);
	return fclose(f) == 0 && w == n ? 0 : -1;
}

/* A request of nseries series x nsamples samples with extras on the first series. */
static int make(const char *dir, const char *name, int nseries, int nsamples, int extras)
{
	Prometheus__WriteRequest req = PROMETHEUS__WRITE_REQUEST__INIT;
	Prometheus__TimeSeries ts[8], *tsp[8];
	Prometheus__Label lab[8][4], *labp[8][4];
	Prometheus__Sample smp[8][8], *smpp[8][8];
	char inst[8][16];
	Prometheus__Exemplar ex = PROMETHEUS__EXEMPLAR__INIT, *exp_ = &ex;
	Prometheus__Label exl = PROMETHEUS__LABEL__INIT, *exlp = &exl;
	Prometheus__Histogram h = PROMETHEUS__HISTOGRAM__INIT, *hp = &h;
	Prometheus__MetricMetadata md = PROMETHEUS__METRIC_METADATA__INIT, *mdp = &md;
	for (int s = 0; s < nseries; s++) {
		prometheus__time_series__init(&ts[s]);
		snprintf(inst[s], sizeof inst[s], "host%d", s);
		const char *kv[4][2] = {{"job", "api"}, {"__name__", s % 2 ? "up" : "http_requests_total"},
					{"instance", inst[s]}, {"code", "200"}};
		for (int l = 0; l < 4; l++) {
			prometheus__label__init(&lab[s][l]);
			lab[s][l].name = (char *)kv[l][0];
			lab[s][l].value = (char *)kv[l][1];
			labp[s][l] = &lab[s][l];
		}
		ts[s].labels = labp[s];
		ts[s].n_labels = 4;
		for (int k = 0; k < nsamples; k++) {
			prometheus__sample__init(&smp[s][k]);
			smp[s][k].timestamp = 1700000000000LL - 60000 + k * 15000;
			smp[s][k].value = k == 3 ? NAN : s * 10.0 + k;
			smpp[s][k] = &smp[s][k];
		}
		ts[s].samples = smpp[s];
		ts[s].n_samples = (size_t)nsamples;
		tsp[s] = &ts[s];
	}
	req.timeseries = tsp;
	req.n_timeseries = (size_t)nseries;
	if (extras && nseries > 0) {
		exl.name = "trace_id";
		exl.value = "4bf92f3577b34da6";
		ex.labels = &exlp;
		ex.n_labels = 1;
		ex.value = 0.5;
		ex.timestamp = 1700000000000LL;
		ts[0].exemplars = &exp_;
		ts[0].n_exemplars = 1;
		h.count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
		h.count_int = 3;
		h.sum = 1.5;
		h.timestamp = 1700000000000LL;
		ts[0].histograms = &hp;
		ts[0].n_histograms = 1;
		md.type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER;
		md.metric_family_name = "http_requests_total";
		md.help = "Requests.";
		req.metadata = &mdp;
		req.n_metadata = 1;
	}
	size_t n = prometheus__write_request__get_packed_size(&req);
	uint8_t *pb = malloc(n + 1);
	prometheus__write_request__pack(&req, pb);
	buf z;
	buf_init(&z, 0);
	char fn[256];
	int rc = ingest_snappy_compress(pb, n, &z);
	snprintf(fn, sizeof fn, "%s.snappy", name);
	rc = rc || write_file(dir, fn, z.data, z.len);
	snprintf(fn, sizeof fn, "%s.pb", name);
	rc = rc || write_file(dir, fn, pb, n);
	if (n > 8) {
		snprintf(fn, sizeof fn, "%s_truncated.pb", name);
		rc = rc || write_file(dir, fn, pb, n - 5);
	}
	buf_deinit(&z);
	free(pb);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s <dir>\n", argv[0]);
		return 2;
	}
	const char *dir = argv[1];
	int rc = make(dir, "one_series", 1, 1, 0);
	rc = rc || make(dir, "four_series", 4, 5, 0);
	rc = rc || make(dir, "extras", 2, 2, 1);
	static const unsigned char gib[] = {0x80, 0x80, 0x80, 0x80, 0x04, 0x0c, 'a', 'b', 'c', 'd'};
	rc = rc || write_file(dir, "declared_1gib.snappy", gib, sizeof gib);
	static const unsigned char wt[] = {0x0a, 0x04, 0x12, 0x02, 0x08, 0x01};
	rc = rc || write_file(dir, "sample_wire_type.pb", wt, sizeof wt);
	/* {__name__="m", a="x\0y"} with one sample: a NUL inside a label value */
	static const unsigned char nul[] = {0x0a, 0x20, 0x0a, 0x0d, 0x0a, 0x08, '_', '_', 'n', 'a', 'm', 'e', '_', '_',
					    0x12, 0x01, 'm', 0x0a, 0x08, 0x0a, 0x01, 'a', 0x12, 0x03, 'x', 0x00, 'y',
					    0x12, 0x05, 0x10, 0x80, 0xa0, 0xb7, 0x01};
	rc = rc || write_file(dir, "nul_in_value.pb", nul, sizeof nul);
	if (rc) {
		fprintf(stderr, "%s: writing the corpus failed\n", argv[0]);
		return 1;
	}
	return 0;
}
