/*
 * ingest.h — getting samples into slod: Prometheus remote-write 1.0 (snappy-compressed protobuf
 * prometheus.WriteRequest) and 2.0 (io.prometheus.write.v2.Request), and the Prometheus text
 * exposition format (POST /api/v1/import/prometheus).
 * Decodes, bounds and validates untrusted bodies, canonicalises label sets and appends to tsdb.
 * Knows nothing of HTTP sockets: the api module passes the relevant header values and the body,
 * and maps the returned outcome class to an HTTP status.
 *
 * ---- Outcome → HTTP status (the api module applies this table) ----
 *   INGEST_OK                      204 No Content (remote write) / 204 (text import)
 *   INGEST_BAD_REQUEST             400  malformed body, or some series/samples rejected (see below);
 *                                       senders drop the request, they do not retry
 *   INGEST_UNSUPPORTED_MEDIA_TYPE  415  wrong Content-Type / Content-Encoding / unknown proto=
 *   INGEST_TOO_LARGE               413  a limit in ingest_limits was exceeded (nothing stored)
 *   INGEST_OVERLOADED              503  out of memory (nothing stored, except when the tsdb commit ran
 *                                       out half-way: whole series prefixes stored); senders retry
 *   INGEST_INTERNAL                500  storage failed to commit (nothing stored); senders retry
 * res->message is always one line (no newline), suitable as the response body.
 *
 * ---- Remote write (ingest_remote_write) ----
 * Headers: Content-Type must be application/x-protobuf; its proto= parameter picks the message:
 * absent or prometheus.WriteRequest → 1.0, io.prometheus.write.v2.Request → 2.0 (quotes, spaces and
 * case tolerated); a missing Content-Type is accepted as 1.0 (as Prometheus does); any other proto=
 * or media type → 415. The body is never sniffed: a 2.0 body sent as 1.0 decodes as an empty
 * WriteRequest (2.0 reserves 1.0's field numbers) and a 1.0 body sent as 2.0 as an empty Request,
 * both 204 with nothing stored, as the spec says. Content-Encoding must be snappy (case-insensitive);
 * missing is accepted as snappy; anything else → 415. The X-Prometheus-Remote-Write-Version header
 * is not needed; a 2.x version with a Content-Type that names no message → 415 (a 2.0 sender that
 * forgot proto= would otherwise lose everything silently).
 * Body: snappy *block* format. The compressed length is checked against max_body_bytes and the
 * length declared in the snappy header against max_decompressed_bytes BEFORE anything is allocated
 * (→ 413). Corrupt snappy or protobuf → 400 with a one-line reason ("protobuf: field 1 of
 * WriteRequest at byte 0 claims 60 bytes but only 56 remain", ...). More than max_series series →
 * 413 before anything is staged. The protobuf is walked in place (no per-field allocation).
 * Per series (validation never allocates): labels are sorted (canonicalised); a series is rejected
 * (its samples counted in rejected_invalid_labels, the rest of the request still stored) when it has
 * more than max_labels_per_series labels, a name or value over the length limits, an invalid name
 * ([a-zA-Z_][a-zA-Z0-9_]*), a duplicate name, a value that is not valid UTF-8 or holds a NUL, or no
 * valid __name__ ([a-zA-Z_:][a-zA-Z0-9_:]*). Labels with an empty value are then dropped (an empty
 * value means "absent", as in Prometheus's head appender). Exemplars, native histograms and metadata
 * are accepted and ignored (counted). Sample values are stored bit-exactly (stale markers survive).
 * Per sample: same timestamp and same value bits as stored → dropped quietly (duplicates_dropped,
 * still OK); out of order beyond the tsdb window, older than retention, same timestamp with a
 * different value, or more than max_future_ms ahead of the clock → counted and not stored.
 *
 * Partial failure policy. Prometheus 2.x's v1 handler answers 400 for out-of-order / too-old /
 * duplicate-timestamp samples "to prevent retries" but rolls the whole request back; it skips series
 * with invalid labels silently (204). Its 2.0 handler commits the good part and answers 400. slod
 * follows the status codes (400 for both kinds, so senders drop rather than retry) and the 2.0
 * partial-write semantics: every valid sample is committed FIRST, then BAD_REQUEST is returned with
 * a message like `rejected 3 of 500 series: duplicate label name "job" in series {...}; 2 samples out
 * of order (first: {...} @1700000000000)`. Nothing good is lost, and a 400 is never retried. A tsdb
 * series-limit rejection counts the same way (rejected_limit, 400: retrying would not help).
 * If the tsdb commit fails (I/O) nothing of the request is visible and the outcome is INTERNAL.
 *
 * ---- Remote write 2.0 (same entry point, Content-Type proto=io.prometheus.write.v2.Request) ----
 * Same snappy, limits, label rules, per-sample handling and partial-failure policy as 1.0, plus:
 *  - symbols: the table must start with "" when the request has any symbol or series (else 400,
 *    nothing stored, "symbols: ..."); at most max_decompressed_bytes / 8 symbols (→ 413), so the
 *    (offset, length) table never outweighs the body. Symbols are checked only where referenced.
 *  - a TimeSeries is rejected (partial failure: counted in rejected_series, its samples in
 *    rejected_invalid_labels, the rest stored, 400) for an odd number of labels_refs, a label,
 *    exemplar or metadata (help_ref/unit_ref) ref outside the table, an odd number of exemplar
 *    refs, samples AND histograms in one TimeSeries, an empty label value, label names not in
 *    strictly increasing byte order (unsorted → "label names not sorted", equal → "duplicate label
 *    name") — 1.0 sorts and drops empty values silently, 2.0 makes them MUSTs — and everything 1.0
 *    rejects (__name__ missing/invalid, invalid names, UTF-8, NUL, lengths, label count). Label
 *    names keep 1.0's [a-zA-Z_][a-zA-Z0-9_]* (the spec allows UTF-8 names; slod's PromQL does not).
 *  - a TimeSeries without samples (only histograms, exemplars or metadata) is accepted as is.
 *  - native histograms and exemplars are accepted, counted (histograms_ignored, exemplars_ignored)
 *    and NOT stored (slod stores floats only); metadata is counted and ignored; created_timestamp /
 *    start_timestamp are ignored. As the spec allows, a request whose only unstored parts are those
 *    still answers 204, and the Written headers tell the sender: Histograms/Exemplars-Written: 0.
 *  - written_headers is set once content negotiation passed (every outcome except 415), and
 *    samples_written = samples_stored + duplicates_dropped after a commit, 0 when nothing was
 *    committed (413/400-malformed/503/500). The api sends them as X-Prometheus-Remote-Write-
 *    {Samples,Histograms,Exemplars}-Written. 1.0 answers carry no such headers.
 * No real-sender test: Prometheus 2.42 (Debian's) cannot send 2.0; tests build requests with
 * protobuf-c from prompb/write_v2.proto.
 *
 * ---- Text exposition format (ingest_text) ----
 * Prometheus text format 0.0.4: `# HELP name text`, `# TYPE name counter|gauge|histogram|summary|
 * untyped`, other `#` comments and blank lines ignored; samples `name{l="v",...} value [timestamp]`
 * with optional trailing comma in the braces, spaces/tabs between tokens, label value escapes \\ \"
 * \n (others are errors), values as decimal/exponent floats, NaN, +Inf, -Inf (Inf); timestamp as
 * int64 milliseconds, default_ts_ms when absent. A trailing \r is tolerated. A syntax error stores
 * nothing and returns BAD_REQUEST with "line L:C: reason" (1-based; C counts bytes). Semantic
 * problems (duplicate label names, invalid UTF-8 in a value, out-of-order, too old) follow the
 * remote-write partial-failure policy above. Text NaN is stored as Go's math.NaN() bits
 * (0x7ff8000000000001), as Prometheus does.
 *
 * ---- Costs ----
 * Remote write: one snappy pass, one in-place walk of the protobuf (no malloc per field; 2.0 adds a
 * pass over the top level that records the symbol table, kept warm up to 2 MiB), one
 * validation + (usually skipped) sort + one XXH3 call per series, tsdb_appender_add_hashed for a
 * series' first sample and tsdb_appender_add_ref for the rest: ~0.17 CPU-us per 5-label series in
 * ingest itself. Reuse an ingest_ctx across requests on one thread to keep the decompression
 * buffer, the label buffers and the appender warm.
 *
 * Sample accounting: samples_stored counts samples staged and committed. tsdb checks a sample
 * against committed data when it is staged and drops it silently at commit if an earlier sample of
 * the same request makes it out of order or a duplicate (t decreasing within one series, or the
 * same series sent twice in one request); such samples are counted as stored. ingest itself
 * catches a repeat of the timestamp just staged for a series (duplicate / duplicate_timestamp).
 *
 * Thread safety: an ingest_ctx is used by one thread at a time; any number of contexts may write to
 * one tsdb concurrently. No global state.
 */
#ifndef SLOD_INGEST_H
#define SLOD_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tsdb/tsdb.h"
#include "util/buf.h"
#include "util/clock.h"

#define INGEST_MAX_LABELS_CAP 65536

typedef struct ingest_limits {
	size_t max_body_bytes;         /* compressed request body; default 16 MiB */
	size_t max_decompressed_bytes; /* snappy-declared length; default 32 MiB */
	size_t max_decode_bytes;       /* arena for the parsed text format; default 256 MiB */
	size_t max_series;             /* series per request (text: sample lines); default 1,000,000 */
	size_t max_labels_per_series;  /* default 128; clamped to 1..INGEST_MAX_LABELS_CAP */
	size_t max_label_name_len;     /* bytes; default 1024 */
	size_t max_label_value_len;    /* bytes; default 16384 */
	int64_t max_future_ms;         /* reject samples newer than now + this; default 10 min; <= 0 off */
} ingest_limits;

/* Fills the defaults listed above. */
void ingest_limits_default(ingest_limits *lim);

typedef enum ingest_outcome {
	INGEST_OK = 0,
	INGEST_BAD_REQUEST,
	INGEST_UNSUPPORTED_MEDIA_TYPE,
	INGEST_TOO_LARGE,
	INGEST_OVERLOADED,
	INGEST_INTERNAL,
} ingest_outcome;

#define INGEST_MESSAGE_MAX 512

typedef struct ingest_result {
	ingest_outcome outcome;
	uint64_t series;                  /* series (text: sample lines) in the request */
	uint64_t samples;                 /* samples in the request, including rejected ones */
	uint64_t samples_stored;          /* committed and visible */
	uint64_t duplicates_dropped;      /* same t, same value: dropped quietly */
	uint64_t rejected_series;         /* series rejected for their labels (or the series limit) */
	uint64_t rejected_invalid_labels; /* samples of series rejected for their labels */
	uint64_t rejected_limit;          /* samples of series refused by the tsdb series limit */
	uint64_t out_of_order;            /* samples older than the tsdb out-of-order window allows */
	uint64_t too_old;                 /* samples older than retention */
	uint64_t duplicate_timestamp;     /* same t, different value */
	uint64_t too_far_future;          /* more than max_future_ms ahead */
	uint64_t exemplars_ignored;
	uint64_t histograms_ignored;
	uint64_t metadata_ignored;
	/* Remote-write 2.0: the request passed content negotiation, so the api MUST answer (whatever
	 * the status) with the X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written headers
	 * carrying the three counts below. false for 1.0, the text format and 415 answers. */
	bool written_headers;
	uint64_t samples_written;    /* samples_stored + duplicates_dropped once committed, else 0 */
	uint64_t histograms_written; /* always 0: native histograms are accepted but not stored */
	uint64_t exemplars_written;  /* always 0: exemplars are accepted but not stored */
	char message[INGEST_MESSAGE_MAX]; /* one line; "" on INGEST_OK */
} ingest_result;

/* HTTP status for an outcome (204, 400, 415, 413, 503, 500). */
int ingest_outcome_http_status(ingest_outcome o);
/* Short name: "ok", "bad_request", ... */
const char *ingest_outcome_name(ingest_outcome o);

/* A reusable per-thread context: limits, clock, a tsdb appender, the request arena, the
 * decompression buffer and the scratch label array. */
typedef struct ingest_ctx ingest_ctx;

/* Creates a context writing to db (borrowed; must outlive the context). lim is copied (NULL:
 * defaults). clock is copied; a NULL clock or clock->now_ms disables the max_future_ms check.
 * Returns NULL on out-of-memory. */
ingest_ctx *ingest_ctx_new(tsdb *db, const ingest_limits *lim, const slod_clock *clock);
/* Frees the context (rolls back nothing: every call commits or rolls back itself). NULL: no-op. */
void ingest_ctx_free(ingest_ctx *cx);

/* Handles one remote-write 1.0 request. Header arguments may be NULL (absent). body is borrowed.
 * Fills *res completely (res->outcome is also returned). Samples accepted are committed before
 * return whatever the outcome, except TOO_LARGE/UNSUPPORTED_MEDIA_TYPE/OVERLOADED/INTERNAL and
 * malformed-body BAD_REQUEST, which store nothing. */
ingest_outcome ingest_ctx_remote_write(ingest_ctx *cx, const char *content_type, const char *content_encoding,
				       const char *rw_version_header, const void *body, size_t len,
				       ingest_result *res);
/* Same, for an already-decompressed WriteRequest protobuf (no header checks, no snappy). For the
 * fuzzer, benchmarks and tests. */
ingest_outcome ingest_ctx_write_request_pb(ingest_ctx *cx, const void *pb, size_t len, ingest_result *res);
/* Same, for an already-decompressed remote-write 2.0 io.prometheus.write.v2.Request protobuf. */
ingest_outcome ingest_ctx_write_request_v2_pb(ingest_ctx *cx, const void *pb, size_t len, ingest_result *res);
/* Handles one text-format body. Samples without a timestamp get default_ts_ms. */
ingest_outcome ingest_ctx_text(ingest_ctx *cx, const void *body, size_t len, int64_t default_ts_ms,
			       ingest_result *res);

/* One-shot convenience wrappers: a temporary context per call, the system clock. lim NULL =
 * defaults. */
ingest_outcome ingest_remote_write(tsdb *db, const ingest_limits *lim, const char *content_type,
				   const char *content_encoding, const char *rw_version_header, const void *body,
				   size_t len, ingest_result *res);
ingest_outcome ingest_text(tsdb *db, const ingest_limits *lim, const void *body, size_t len, int64_t default_ts_ms,
			   ingest_result *res);

/* ---- encoding (tests, fuzz seeds, benchmarks) ----
 * The generated prompb encoder is public: #include "ingest/prompb/remote.pb-c.h" and build a
 * Prometheus__WriteRequest. This packs it and snappy-compresses the result into out (appended).
 * Returns 0 or -1 (out of memory / buf limit). */
struct Prometheus__WriteRequest;
int ingest_encode_write_request(const struct Prometheus__WriteRequest *req, buf *out);
/* The same for a remote-write 2.0 request built with "ingest/prompb/write_v2.pb-c.h". */
struct Io__Prometheus__Write__V2__Request;
int ingest_encode_write_request_v2(const struct Io__Prometheus__Write__V2__Request *req, buf *out);
/* snappy-compresses len bytes of data, appending to out. Returns 0 or -1. */
int ingest_snappy_compress(const void *data, size_t len, buf *out);

#endif
