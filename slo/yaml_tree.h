/*
 * yaml_tree.h — internal to the slo module: a bounded YAML reader that turns libyaml's event
 * stream into a small immutable tree with source positions (line:column of every node).
 *
 * libyaml stays private to this module: nothing outside slo/ includes <yaml.h>.
 */
#ifndef SLOD_SLO_YAML_TREE_H
#define SLOD_SLO_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"

typedef enum { SLO__Y_SCALAR, SLO__Y_MAP, SLO__Y_SEQ } slo__ynode_type;

/* Scalar styles as written in the source (mirrors libyaml's, without its header). */
typedef enum {
	SLO__Y_PLAIN = 1,
	SLO__Y_SINGLE,
	SLO__Y_DOUBLE,
	SLO__Y_LITERAL,
	SLO__Y_FOLDED,
} slo__yscalar_style;

typedef struct slo__ynode {
	slo__ynode_type type;
	uint32_t line, col;   /* 1-based position of the node's first character (indicator for blocks) */
	uint32_t end_line;    /* 1-based line of the node's end */
	size_t start, end;    /* byte range of the node's source text (scalars: incl. quotes) */
	int style;            /* scalars: slo__yscalar_style */
	const char *str;      /* scalars: NUL-terminated value (may contain NULs; use len) */
	size_t len;
	struct slo__ynode **items; /* SEQ: n items; MAP: n pairs laid out key0,val0,key1,val1,... */
	size_t n;                  /* SEQ: item count; MAP: pair count */
} slo__ynode;

typedef struct slo__ydoc {
	slo__ynode *root; /* NULL for an empty document */
	uint32_t line;    /* 1-based line where the document starts */
	size_t start, end; /* byte range of the document's text in the input */
} slo__ydoc;

/* Bounds for untrusted YAML. Every bound reached is an error, never a truncation. */
typedef struct slo__ylimits {
	size_t max_input;   /* bytes of one file */
	unsigned max_depth; /* nesting of maps/sequences */
	size_t max_scalar;  /* bytes of one scalar */
	size_t max_nodes;   /* nodes in one file */
	size_t max_docs;    /* documents in one file */
} slo__ylimits;

#define SLO__YLIMITS_DEFAULT {8u << 20, 64, 1u << 20, 200000, 10000}

/* Parses data[0..len) into documents allocated in a. Aliases are rejected (no expansion at all);
 * anchors and tags are ignored. Returns 0 with *docs and *ndocs set, or -1 (bad input) / -2 (out of
 * memory) with a message in err and the 1-based position in *eline, *ecol. Cost: O(len) time, memory O(len) in the arena. */
int slo__yaml_parse(arena *a, const char *data, size_t len, const slo__ylimits *lim, slo__ydoc **docs,
		    size_t *ndocs, char *err, size_t errlen, uint32_t *eline, uint32_t *ecol);

/* Returns the value node of key in map m (ASCII case-insensitive like Go's encoding/json), or NULL.
 * If key_out is not NULL it receives the key node. */
const slo__ynode *slo__ymap_get(const slo__ynode *m, const char *key, const slo__ynode **key_out);

/* True if n is a scalar that YAML 1.1 (as Go's yaml.v2 reads it) treats as null: "", "~", null. */
bool slo__yis_null(const slo__ynode *n);

#endif
