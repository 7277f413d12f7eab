/*
 * rw_pusher.c — remote-write batches into slod for the kill -9 durability test, recording exactly
 * which batches were acknowledged.
 *
 * usage: rw_pusher PORT ACK_FILE BATCHES SERIES SAMPLES_PER_SERIES BASE_TS_MS [METRIC]
 * Batch i holds, for each series k in [0, SERIES), SAMPLES_PER_SERIES samples of
 *   METRIC{series="k"} (default kill9_metric) at t = BASE + (i * SAMPLES_PER_SERIES + j) * 10 ms
 *   with value i * 1e6 + k * 1e3 + j + 0.25.
 * After each 2xx answer the batch number is appended to ACK_FILE and flushed (fflush + fsync)
 * BEFORE the next batch is sent, so the file lists exactly the acknowledged batches. Stops at the
 * first connection failure or non-2xx status (slod was killed) or after BATCHES batches.
 * Exit 0 in both cases; exit 1 on local errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_client.h"
#include "ingest/ingest.h"
#include "ingest/prompb/remote.pb-c.h"

int main(int argc, char **argv)
{
	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: rw_pusher PORT ACK_FILE BATCHES SERIES SAMPLES_PER_SERIES BASE_TS_MS [METRIC]\n");
		return 1;
	}
	uint16_t port = (uint16_t)atoi(argv[1]);
	FILE *ack = fopen(argv[2], "a");
	long batches = atol(argv[3]), nseries = atol(argv[4]), nsamples = atol(argv[5]);
	long long base = atoll(argv[6]);
	if (!ack || batches <= 0 || nseries <= 0 || nsamples <= 0)
		return 1;
	Prometheus__TimeSeries *ts = calloc((size_t)nseries, sizeof *ts);
	Prometheus__TimeSeries **tsp = calloc((size_t)nseries, sizeof *tsp);
	Prometheus__Label *labels = calloc((size_t)nseries * 2, sizeof *labels);
	Prometheus__Label **lp = calloc((size_t)nseries * 2, sizeof *lp);
	Prometheus__Sample *samples = calloc((size_t)(nseries * nsamples), sizeof *samples);
	Prometheus__Sample **sp = calloc((size_t)(nseries * nsamples), sizeof *sp);
	char (*names)[24] = calloc((size_t)nseries, sizeof *names);
	if (!ts || !tsp || !labels || !lp || !samples || !sp || !names)
		return 1;
	for (long k = 0; k < nseries; k++) {
		prometheus__time_series__init(&ts[k]);
		tsp[k] = &ts[k];
		snprintf(names[k], sizeof names[k], "%ld", k);
		prometheus__label__init(&labels[2 * k]);
		prometheus__label__init(&labels[2 * k + 1]);
		labels[2 * k].name = "__name__";
		labels[2 * k].value = argc == 8 ? argv[7] : "kill9_metric";
		labels[2 * k + 1].name = "series";
		labels[2 * k + 1].value = names[k];
		lp[2 * k] = &labels[2 * k];
		lp[2 * k + 1] = &labels[2 * k + 1];
		ts[k].n_labels = 2;
		ts[k].labels = &lp[2 * k];
		ts[k].n_samples = (size_t)nsamples;
		ts[k].samples = &sp[k * nsamples];
		for (long j = 0; j < nsamples; j++) {
			prometheus__sample__init(&samples[k * nsamples + j]);
			sp[k * nsamples + j] = &samples[k * nsamples + j];
		}
	}
	Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
	wr.n_timeseries = (size_t)nseries;
	wr.timeseries = tsp;
	const char *hdrs = "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
			   "X-Prometheus-Remote-Write-Version: 0.1.0\r\n";
	buf body;
	buf_init(&body, 0);
	long acked = 0;
	for (long i = 0; i < batches; i++) {
		for (long k = 0; k < nseries; k++)
			for (long j = 0; j < nsamples; j++) {
				Prometheus__Sample *s = &samples[k * nsamples + j];
				s->timestamp = base + (i * nsamples + j) * 10;
				s->value = (double)i * 1e6 + (double)k * 1e3 + (double)j + 0.25;
			}
		buf_reset(&body);
		if (ingest_encode_write_request(&wr, &body) != 0)
			return 1;
		http_resp r;
		if (http_request(port, "POST", "/api/v1/write", hdrs, body.data, body.len, 10000, &r) != 0 ||
		    r.status < 200 || r.status > 299) {
			fprintf(stderr, "rw_pusher: batch %ld not acknowledged (status %d)\n", i, r.status);
			http_resp_free(&r);
			break;
		}
		http_resp_free(&r);
		fprintf(ack, "%ld\n", i);
		fflush(ack);
		fsync(fileno(ack));
		acked++;
	}
	fprintf(stderr, "rw_pusher: %ld batches acknowledged (%ld samples)\n", acked, acked * nseries * nsamples);
	fclose(ack);
	buf_deinit(&body);
	free(ts);
	free(tsp);
	free(labels);
	free(lp);
	free(samples);
	free(sp);
	free(names);
	return 0;
}
