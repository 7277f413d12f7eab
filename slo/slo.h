/*
 * slo.h — the SLO module: reads SLO specs written for Sloth (prometheus/v1 and the
 * sloth.slok.dev/v1 PrometheusServiceLevel CRD), OpenSLO v1alpha, and Sloth's AlertWindows
 * catalogs into one model (plus slod's own opt-in `slod:` extensions of Sloth SLOs: latency SLIs,
 * rolling/calendar periods, minimum events, per-tier alert config; docs/slo.md); validates them
 * with located messages (`file:line:column: message`); and compiles them to Prometheus recording
 * and alerting rules byte for byte as Sloth v0.16 does.
 *
 * Ownership: an slo_set owns everything it loads (one arena); pointers into the model stay valid
 * until slo_set_free(). Loading never prints: problems become diagnostics on the set.
 *
 * Typical use:
 *   slo_set *s = slo_set_new();
 *   slo_load_path(s, "slos/");                  // file or directory (recursive, *.yaml / *.yml)
 *   slo_validate(s, &opts);                     // adds semantic diagnostics
 *   for each diag: slo_diag_format(...)         // "a.yaml:12:9: objective must be > 0 and <= 100"
 *   slo_generate(s, group, &opts, &out, ...)    // one Prometheus rule file per group
 *   slo_set_free(s);
 */
#ifndef SLOD_SLO_H
#define SLOD_SLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Error codes (negative). */
enum {
	SLO_OK = 0,
	SLO_ERR_IO = -1,      /* a file or directory could not be read */
	SLO_ERR_INVALID = -2, /* the input has errors (see the diagnostics) */
	SLO_ERR_NOMEM = -3,
	SLO_ERR_ARG = -4, /* bad option or argument */
};

#define SLO_DEFAULT_PERIOD_MS (30LL * 24 * 3600 * 1000)

/* A position in a source file (1-based; 0 when unknown). */
typedef struct slo_pos {
	const char *file;
	uint32_t line, col;
} slo_pos;

typedef struct slo_label {
	const char *name, *value;
	slo_pos pos; /* of the key */
} slo_label;

/* An ordered label map (source order; later entries replace earlier ones when merging). */
typedef struct slo_labels {
	slo_label *v;
	size_t n;
} slo_labels;

/* A PromQL query template as written in the spec, with what is needed to map an offset inside the
 * query back to the file: the scalar's position, its YAML style and, for block scalars, the
 * column where content lines start. */
typedef struct slo_query {
	const char *text; /* NULL when absent */
	slo_pos pos;      /* start of the scalar (the indicator for | and > blocks) */
	int style;        /* slo__yscalar_style; -1: composed by slod, positions approximate */
	uint32_t block_col; /* 1-based column of block content lines (0: unknown) */
	bool selector;    /* a bare series selector (Pyrra): no {{.window}} expected */
	const char *raw;  /* the scalar's source text (plain and quoted styles), for exact positions */
} slo_query;

typedef enum { SLO_SLI_NONE = 0, SLO_SLI_EVENTS, SLO_SLI_RAW } slo_sli_kind;

/* One multiwindow-multiburn window: burn errorBudgetPercent of the budget within long_ms. factor,
 * when > 0, is the burn-rate factor as written (slod's per-tier override) instead of the one
 * derived from error_budget_percent; catalogs always have 0. */
typedef struct slo_window {
	double error_budget_percent;
	int64_t short_ms, long_ms;
	double factor;
} slo_window;

/* Calendar SLO periods (slod extension): the budget counts from the start of the current
 * calendar week (Monday 00:00), month or quarter in the SLO's time zone. */
typedef enum { SLO_CAL_NONE = 0, SLO_CAL_WEEK, SLO_CAL_MONTH, SLO_CAL_QUARTER } slo_calendar;

typedef struct slo_alert_tier {
	bool disable;
	slo_labels labels;      /* alerting.labels merged with the tier's labels */
	slo_labels annotations; /* alerting.annotations merged with the tier's annotations */
	slo_pos pos;
	/* slod extensions (slod.page / slod.ticket); zero when unused. In quick and slow a zero
	 * field keeps the catalog's value (short_ms, long_ms, error_budget_percent, factor). */
	slo_window quick, slow;
	slo_pos quick_pos, slow_pos;
	int64_t for_ms;         /* the alerting rule's `for` (0: none, as Sloth) */
} slo_alert_tier;

/* A time zone for calendar periods: UTC, a fixed offset, or an IANA zone's transitions read
 * from the system zoneinfo at load time (offset in force = the last transition at or before t). */
typedef struct slo_tz {
	const char *name;       /* as written ("UTC", "+02:00", "Europe/Paris"); NULL: UTC */
	int32_t fixed_s;        /* offset east of UTC when n == 0 */
	size_t n;               /* transitions (ascending) */
	const int64_t *at_s;    /* transition times, seconds since the epoch */
	const int32_t *off_s;   /* offset in force from at_s[i] on */
	int32_t before_s;       /* offset before the first transition */
} slo_tz;

typedef struct slo_spec {
	const char *service, *name, *id, *description;
	slo_pos pos, service_pos, name_pos, objective_pos, period_pos;
	slo_labels labels; /* group labels merged with the SLO's own (SLO wins) */
	double objective;  /* percent, (0, 100] when valid */
	bool has_objective;
	int64_t period_ms; /* 0: use the generation default (--default-slo-period) */
	slo_sli_kind sli_kind;
	slo_pos sli_pos;
	slo_query error_query, total_query; /* events */
	slo_query error_ratio_query;        /* raw */
	/* SLIs that slod composes from parts (OpenSLO good/total, Pyrra metrics): the parts as written,
	 * validated one by one at their own positions instead of the composed query. */
	slo_query parts[2];
	const char *part_names[2];
	size_t n_parts;
	struct {
		const char *name;
		slo_pos pos, name_pos;
		slo_alert_tier page, ticket;
	} alerting;
	/* slod extensions (the `slod:` key of a Sloth SLO, docs/slo.md); all zero otherwise, and then
	 * nothing slod generates differs from Sloth. */
	bool ext;
	slo_pos ext_pos;
	slo_calendar calendar;  /* period_ms is then the rolling equivalent (7d, 30d, 90d) */
	slo_tz tz;
	int64_t min_events;     /* alert conditions need this many events in their long window (0: none) */
	slo_pos min_events_pos;
	bool latency;           /* slod.latency given: the SLI is composed from a classic histogram
				   (sli_kind EVENTS; NONE when slod.latency had errors, already reported) */
} slo_spec;

typedef enum {
	SLO_FORMAT_SLOTH_V1 = 1,   /* version: prometheus/v1 */
	SLO_FORMAT_SLOTH_K8S,      /* apiVersion: sloth.slok.dev/v1, kind: PrometheusServiceLevel */
	SLO_FORMAT_OPENSLO_V1ALPHA, /* apiVersion: openslo/v1alpha, kind: SLO */
	SLO_FORMAT_OPENSLO_V1,      /* apiVersion: openslo/v1, kind: SLO (+ kind: SLI for indicatorRef) */
	SLO_FORMAT_PYRRA            /* apiVersion: pyrra.dev/v1alpha1, kind: ServiceLevelObjective */
} slo_format;

/* One YAML document holding SLOs: the unit Sloth generates one rule file (section) from. */
typedef struct slo_group {
	slo_format format;
	slo_pos pos;
	const char *k8s_name, *k8s_namespace; /* PrometheusServiceLevel metadata */
	slo_labels k8s_labels, k8s_annotations;
	slo_spec *slos;
	size_t n_slos;
	const char *text; /* the YAML document's source text (NUL-terminated), for display */
	size_t text_len;
} slo_group;

/* A Sloth AlertWindows catalog entry for one SLO period. */
typedef struct slo_windows {
	int64_t period_ms;
	slo_window page_quick, page_slow, ticket_quick, ticket_slow;
	slo_pos pos;
} slo_windows;

typedef enum { SLO_DIAG_ERROR = 0, SLO_DIAG_WARNING } slo_diag_severity;

typedef struct slo_diag {
	slo_diag_severity severity;
	slo_pos pos;
	const char *msg;
} slo_diag;

typedef enum { SLO_OUTPUT_AUTO = 0, SLO_OUTPUT_PROMETHEUS, SLO_OUTPUT_PROMETHEUS_OPERATOR } slo_output_format;

typedef struct slo_gen_options {
	int64_t default_period_ms;     /* 0: 30d */
	const slo_label *extra_labels; /* added to every SLO's labels (they win), may be NULL */
	size_t n_extra_labels;
	bool disable_alerts, disable_recordings;
	slo_output_format output_format; /* AUTO: PrometheusRule for CRD input, plain rules otherwise */
	const char *version;             /* sloth_version label and header; NULL: SLO_VERSION */
	const char *mode_prefix;         /* sloth_mode prefix; NULL: "cli-gen" */
	bool ignore_duplicates;          /* slo_validate: allow one SLO ID in several documents */
} slo_gen_options;

/* The version string slod writes into sloth_version (the project version, "v" prefixed). */
extern const char SLO_VERSION[];

typedef struct slo_set slo_set;

/* Creates an empty set with the default alert window catalogs (30d and 28d). NULL on OOM. */
slo_set *slo_set_new(void);
/* Frees the set and every model object, string and diagnostic it handed out. NULL is a no-op. */
void slo_set_free(slo_set *s);

/* Loads a file, or every *.yaml / *.yml file under a directory (recursively, in sorted order).
 * Every YAML document becomes a group (SLO specs) or a windows catalog entry (AlertWindows: only
 * with slo_load_windows_path). Problems become diagnostics; returns 0, SLO_ERR_IO when the path
 * cannot be read (also a diagnostic), SLO_ERR_INVALID when any document had an error, or
 * SLO_ERR_NOMEM. Documents that loaded are kept even when others failed. */
int slo_load_path(slo_set *s, const char *path);
/* Like slo_load_path(), but in directories only files for which accept(path, ud) is true are read
 * (Sloth's --fs-include / --fs-exclude). accept may be NULL. */
typedef bool (*slo_path_filter)(const char *path, void *ud);
int slo_load_path_filtered(slo_set *s, const char *path, slo_path_filter accept, void *ud);
/* Same for an in-memory buffer named name (used for positions). Borrows data for the call. */
int slo_load_buffer(slo_set *s, const char *name, const char *data, size_t len);
/* Replaces the window catalogs with the AlertWindows files under dir (Sloth's
 * --slo-period-windows-path). Returns 0 or a negative code (diagnostics hold the detail). */
int slo_load_windows_path(slo_set *s, const char *dir);
int slo_load_windows_buffer(slo_set *s, const char *name, const char *data, size_t len);

/* The loaded groups, in load order. */
size_t slo_set_groups(const slo_set *s, const slo_group **out);
/* Windows for an SLO period, or NULL if the catalog has none. */
const slo_windows *slo_set_windows(const slo_set *s, int64_t period_ms);

/* Semantic validation of everything loaded (Sloth's rules plus slod's extra checks): names,
 * objective range, SLI kind, {{.window}} in queries, PromQL syntax (located inside the query),
 * label names and values, alert names, duplicate SLO IDs across files, catalogs for the periods,
 * and warnings for burn-rate windows that can never fire. Appends diagnostics; returns the number
 * of errors (0: valid; warnings do not count), or SLO_ERR_NOMEM. */
int slo_validate(slo_set *s, const slo_gen_options *opt);

/* Writes group g as one Prometheus rule file section (Sloth's header, then the YAML) to out.
 * Returns 0, SLO_ERR_INVALID (err says why: e.g. no catalog for the period, nothing to write), or
 * SLO_ERR_NOMEM. The group should have passed slo_validate(). */
int slo_generate(slo_set *s, const slo_group *g, const slo_gen_options *opt, buf *out, char *err,
		 size_t errlen);

/* The SLO period of slo: its own (OpenSLO, Pyrra) or opt's default (30d when opt is NULL or 0). */
int64_t slo_spec_period_ms(const slo_spec *slo, const slo_gen_options *opt);
/* Sloth's burn-rate factor of window w for an SLO period: the speed that consumes
 * w->error_budget_percent of the budget within w->long_ms (2% of 30d in 1h -> 14.4); w->factor
 * when it is > 0 (a slod per-tier override). */
double slo_window_burn_factor(int64_t period_ms, const slo_window *w);
/* The alert windows slo uses: the catalog's for its period with the slod per-tier overrides
 * applied. An SLO with slod extensions whose period has no catalog uses the 30d catalog's windows
 * (factors follow from its own period). Returns 0, or SLO_ERR_INVALID when no catalog fits. */
int slo_spec_windows(const slo_set *s, const slo_spec *slo, const slo_gen_options *opt, slo_windows *out);
/* Start (ms since the epoch) of the calendar period c holding t_ms in time zone tz: Monday 00:00
 * for weeks, the 1st 00:00 for months, Jan/Apr/Jul/Oct 1st 00:00 for quarters (local time).
 * SLO_CAL_NONE: t_ms. */
int64_t slo_calendar_start_ms(slo_calendar c, const slo_tz *tz, int64_t t_ms);
/* Longest length of calendar period c (7d, 31d, 92d; 0 for SLO_CAL_NONE). */
int64_t slo_calendar_max_ms(slo_calendar c);
/* "week", "month", "quarter" ("" for none). */
const char *slo_calendar_name(slo_calendar c);
/* Appends the SLI error-ratio PromQL expression of slo over window_ms (exactly the expression of
 * its slo:sli_error:ratio_rate<window> recording rule, without the period shortcut) to out.
 * Returns 0, SLO_ERR_INVALID (no SLI) or SLO_ERR_NOMEM. */
int slo_sli_expr(const slo_spec *slo, int64_t window_ms, buf *out);

/* Diagnostics collected so far, in the order found. */
size_t slo_set_diags(const slo_set *s, const slo_diag **out);
size_t slo_set_error_count(const slo_set *s);
/* Formats d as "file:line:column: message" (warnings: "file:line:column: warning: message").
 * Returns the length that was (or would have been) written, like snprintf. */
int slo_diag_format(const slo_diag *d, char *out, size_t cap);

#endif
