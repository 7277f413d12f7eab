/*
 * slo_int.h — internal to the slo module: the set's layout and helpers shared by load.c,
 * validate.c, gen.c and emit.c.
 *
 * Layout: strings and model objects live in the set's arena; the growable arrays (groups,
 * windows, diagnostics) are heap vectors owned by the set. Group i's SLO array is in the arena and
 * never changes after load, so pointers into it stay valid while more files load.
 */
#ifndef SLOD_SLO_INT_H
#define SLOD_SLO_INT_H

#include <stdarg.h>

#include "slo/slo.h"
#include "slo/yaml_tree.h"
#include "util/arena.h"

struct slo_set {
	arena a;
	slo_group *groups;
	size_t n_groups, cap_groups;
	slo_windows *windows;
	size_t n_windows, cap_windows;
	bool custom_windows; /* a windows path replaced the defaults */
	slo_diag *diags;
	size_t n_diags, cap_diags, n_errors;
	slo__ylimits ylim;
	size_t total_input, max_total_input; /* bytes read from files so far, and the bound */
	size_t files, max_files;
};

/* Adds a diagnostic (message printf-formatted into the arena). Returns 0 or SLO_ERR_NOMEM. */
int slo__diag(slo_set *s, slo_diag_severity sev, slo_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Adds (or replaces, by name) a label in l, growing it in the set's arena. Returns 0 or -1. */
int slo__labels_set(arena *a, slo_labels *l, const char *name, const char *value, slo_pos pos);
/* Returns the value of name in l, or NULL. */
const char *slo__labels_get(const slo_labels *l, const char *name);

/* Loads AlertWindows documents (kind AlertWindows) from a buffer into s->windows. */
int slo__load_windows_doc(slo_set *s, const char *file, const char *data, size_t len);

/* Replaces every {{.window}} (Go template action with optional spaces) in q by win. Returns an
 * arena string, or NULL on OOM. If map_new/map_old are not NULL, the substitution positions are
 * recorded so slo__query_unmap() can map offsets in the result back to the template. */
typedef struct slo__qmap {
	size_t n;
	size_t *new_off, *old_off, *new_len, *old_len;
} slo__qmap;
char *slo__query_render(arena *a, const char *q, const char *win, slo__qmap *map);
size_t slo__query_unmap(const slo__qmap *map, size_t new_off);
/* True if q contains at least one {{.window}} action. */
bool slo__query_has_window(const char *q);
/* Maps a byte offset inside query q to a file position. */
slo_pos slo__query_pos(const slo_query *q, size_t off);

/* The shape of a rendered SLI query whose range selectors span w (eval.c): per-second rates
 * (rate/irate), counts per window (increase, sum_over_time, count_over_time over exactly w), or
 * anything else (also when it does not parse). Sums and sums of terms keep the shape. */
enum { SLO__SHAPE_RATE = 1, SLO__SHAPE_COUNT = 2, SLO__SHAPE_OTHER = 4 };
unsigned slo__sli_shape(const char *q, int64_t w);
/* Appends the minimum-events condition of slo over window_ms to out: "sum(<total>) * <seconds>
 * >= N" for rate-shaped totals, "sum(<total>) >= N" for count-shaped ones. Returns 0,
 * SLO_ERR_INVALID (no min_events, not an events SLI, or a total of unknown shape) or NOMEM. */
int slo__min_events_expr(const slo_spec *slo, int64_t window_ms, buf *out);

/* Formats ms as a Prometheus duration ("5m", "1d", "4w"). */
void slo__dur(char *out, size_t cap, int64_t ms);

/* --- YAML emitter (emit.c): yaml.v2-compatible block output ------------------------------ */

typedef enum { SLO__E_STR, SLO__E_MAP, SLO__E_SEQ } slo__enode_type;

typedef struct slo__enode {
	slo__enode_type type;
	const char *str;           /* SLO__E_STR */
	struct slo__enode **items; /* SEQ: items; MAP: key,value pairs (keys are SLO__E_STR) */
	size_t n, cap;             /* SEQ: item count; MAP: pair count */
	bool sorted;               /* MAP: emit keys in yaml.v2's sort order */
} slo__enode;

slo__enode *slo__e_str(arena *a, const char *s);
slo__enode *slo__e_map(arena *a, bool sorted);
slo__enode *slo__e_seq(arena *a);
/* Appends (map: key/value; seq: item). Returns 0 or -1 on OOM. */
int slo__e_put(arena *a, slo__enode *map, const char *key, slo__enode *val);
int slo__e_push(arena *a, slo__enode *seq, slo__enode *item);
/* Emits root as a yaml.v2 document (no "---"). Returns 0 or -1 on OOM. */
int slo__e_emit(const slo__enode *root, buf *out);
/* yaml.v2's key order: natural (digit runs compare as numbers, letters after non-letters). */
bool slo__e_key_less(const char *a, const char *b);

#endif
