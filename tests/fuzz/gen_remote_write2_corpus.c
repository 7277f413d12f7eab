/*
 * gen_remote_write2_corpus.c — writes the seed corpus of fuzz_remote_write2 into a directory:
 * 2.0 requests built with the generated write_v2 encoder (both snappy-compressed and raw protobuf,
 * since the target feeds each input both ways) covering samples, stale markers, histograms,
 * exemplars, metadata, unpacked refs, and a few broken ones (a ref past the table, an odd ref count,
 * unsorted labels, a first symbol that is not "", truncation). Usage: gen_remote_write2_corpus <dir>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "ingest/prompb/write_v2.pb-c.h"

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

enum { PLAIN, EXTRAS, BAD_REF, ODD_REFS, UNSORTED, FIRST_SYMBOL };

/* Writes <name>.pb and <name>.snappy, and <name>_truncated.pb when truncate is set. */
static int make(const char *dir, const char *name, int nseries, int nsamples, int variant, int truncate)
{
	char *syms[16] = {"",
			  "__name__",
			  "http_requests_total",
			  "job",
			  "api",
			  "instance",
			  "h0",
			  "h1",
			  "h2",
			  "h3",
			  "trace_id",
			  "abc",
			  "Requests.",
			  "latency_seconds"};
	Io__Prometheus__Write__V2__Request rq = IO__PROMETHEUS__WRITE__V2__REQUEST__INIT;
	Io__Prometheus__Write__V2__TimeSeries ts[6], *tsp[6];
	Io__Prometheus__Write__V2__Sample smp[6][6], *smpp[6][6];
	uint32_t refs[6][6];
	Io__Prometheus__Write__V2__Exemplar ex = IO__PROMETHEUS__WRITE__V2__EXEMPLAR__INIT, *exp_ = &ex;
	uint32_t exrefs[2] = {10, 11};
	Io__Prometheus__Write__V2__Metadata md = IO__PROMETHEUS__WRITE__V2__METADATA__INIT;
	Io__Prometheus__Write__V2__Histogram h = IO__PROMETHEUS__WRITE__V2__HISTOGRAM__INIT, *hp = &h;
	uint32_t hrefs[2] = {1, 13};
	if (variant == FIRST_SYMBOL)
		syms[0] = "x";
	rq.symbols = syms;
	rq.n_symbols = 14;
	int n = 0;
	for (int s = 0; s < nseries; s++, n++) {
		io__prometheus__write__v2__time_series__init(&ts[n]);
		uint32_t r[6] = {1, 2, 5, (uint32_t)(6 + s % 4), 3, 4};
		if (variant == UNSORTED && s == 0) {
			r[2] = 3; /* job before instance */
			r[3] = 4;
			r[4] = 5;
			r[5] = 6;
		}
		if (variant == BAD_REF && s == 0)
			r[3] = 99;
		memcpy(refs[n], r, sizeof r);
		ts[n].labels_refs = refs[n];
		ts[n].n_labels_refs = variant == ODD_REFS && s == 0 ? 5 : 6;
		for (int k = 0; k < nsamples; k++) {
			io__prometheus__write__v2__sample__init(&smp[n][k]);
			smp[n][k].timestamp = 1700000000000LL - 60000 + k * 15000;
			if (k == 2) {
				uint64_t stale = 0x7ff0000000000002ULL;
				memcpy(&smp[n][k].value, &stale, sizeof stale);
			} else {
				smp[n][k].value = s * 10.0 + k;
			}
			smpp[n][k] = &smp[n][k];
		}
		ts[n].samples = smpp[n];
		ts[n].n_samples = (size_t)nsamples;
		tsp[n] = &ts[n];
	}
	if (variant == EXTRAS) {
		ex.labels_refs = exrefs;
		ex.n_labels_refs = 2;
		ex.value = 0.25;
		ex.timestamp = 1700000000000LL;
		ts[0].exemplars = &exp_;
		ts[0].n_exemplars = 1;
		md.type = IO__PROMETHEUS__WRITE__V2__METADATA__METRIC_TYPE__METRIC_TYPE_COUNTER;
		md.help_ref = 12;
		ts[0].metadata = &md;
		ts[0].created_timestamp = 1699999000000LL;
		io__prometheus__write__v2__time_series__init(&ts[n]);
		ts[n].labels_refs = hrefs;
		ts[n].n_labels_refs = 2;
		h.count_case = IO__PROMETHEUS__WRITE__V2__HISTOGRAM__COUNT_COUNT_INT;
		h.count_int = 3;
		h.timestamp = 1700000000000LL;
		ts[n].histograms = &hp;
		ts[n].n_histograms = 1;
		tsp[n] = &ts[n];
		n++;
	}
	rq.timeseries = tsp;
	rq.n_timeseries = (size_t)n;
	size_t len = io__prometheus__write__v2__request__get_packed_size(&rq);
	uint8_t *pb = malloc(len + 1);
	buf z;
	buf_init(&z, 0);
	int rc = -1;
	if (!pb)
		goto out;
	io__prometheus__write__v2__request__pack(&rq, pb);
	char fn[256];
	snprintf(fn, sizeof fn, "%s.pb", name);
	if (write_file(dir, fn, pb, len))
		goto out;
	if (ingest_snappy_compress(pb, len, &z))
		goto out;
	snprintf(fn, sizeof fn, "%s.snappy", name);
	if (write_file(dir, fn, z.data, z.len))
		goto out;
	snprintf(fn, sizeof fn, "%s_truncated.pb", name);
	if (truncate && write_file(dir, fn, pb, len - 3))
		goto out;
	rc = 0;
out:
	free(pb);
	buf_deinit(&z);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s <dir>\n", argv[0]);
		return 2;
	}
	const char *dir = argv[1];
	int rc = make(dir, "one_series", 1, 1, PLAIN, 0);
	rc = rc || make(dir, "four_series", 4, 5, PLAIN, 1);
	rc = rc || make(dir, "extras", 2, 3, EXTRAS, 1);
	rc = rc || make(dir, "bad_ref", 2, 1, BAD_REF, 0);
	rc = rc || make(dir, "odd_refs", 2, 1, ODD_REFS, 0);
	rc = rc || make(dir, "unsorted", 2, 1, UNSORTED, 0);
	rc = rc || make(dir, "first_symbol", 1, 1, FIRST_SYMBOL, 0);
	/* hand-made: refs as unpacked varints, a sample with its fields reversed */
	static const uint8_t unpacked[] = {
	    0x22, 0x00, 0x22, 0x08, '_',  '_',	'n',  'a',  'm',  'e', '_', '_', 0x22, 0x01, 'm', 0x2a, 0x11,
	    0x08, 0x01, 0x08, 0x02, 0x12, 0x0b, 0x10, 0x05, 0x09, 0,   0,   0,	 0,    0,    0,	  0,	0x40};
	rc = rc || write_file(dir, "unpacked_refs.pb", unpacked, sizeof unpacked);
	if (rc)
		fprintf(stderr, "%s: failed writing into %s\n", argv[0], dir);
	return rc ? 1 : 0;
}
