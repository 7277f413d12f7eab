/*
 * yaml_tree.c — libyaml event stream → slo__ynode tree, with hard bounds for hostile input.
 *
 * Layout: every node, string and child array lives in the caller's arena. While a map or sequence
 * is open its children collect in a heap vector on an explicit stack (no recursion, so depth costs
 * no C stack); on its END event the vector is copied into the arena and freed. A map's items are
 * key/value pairs flattened (items[2i] key, items[2i+1] value).
 *
 * Invariants: stack depth <= lim->max_depth; node count <= lim->max_nodes; every scalar <=
 * lim->max_scalar bytes; aliases never appear in the tree (an ALIAS event is an error, so "billion
 * laughs" inputs cost one pass over the text). Complex keys (maps/sequences as keys) are rejected.
 *
 * Cost: O(input) time; memory about 2-3x the input in the arena plus the libyaml token buffers.
 */
#include "slo/yaml_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

typedef struct frame {
	slo__ynode *node;
	slo__ynode **kids;
	size_t n, cap;
} frame;

static int push_kid(frame *f, slo__ynode *kid)
{
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 8;
		slo__ynode **nk = realloc(f->kids, nc * sizeof *nk);
		if (!nk)
			return -1;
		f->kids = nk;
		f->cap = nc;
	}
	f->kids[f->n++] = kid;
	return 0;
}

static void seterr(char *err, size_t errlen, uint32_t *eline, uint32_t *ecol, size_t line, size_t col,
		   const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
	if (eline)
		*eline = (uint32_t)line + 1;
	if (ecol)
		*ecol = (uint32_t)col + 1;
}

int slo__yaml_parse(arena *a, const char *data, size_t len, const slo__ylimits *lim, slo__ydoc **docs,
		    size_t *ndocs, char *err, size_t errlen, uint32_t *eline, uint32_t *ecol)
{
	yaml_parser_t p;
	yaml_event_t ev;
	frame *stack = NULL;
	size_t depth = 0, nodes = 0;
	slo__ydoc *dv = NULL;
	size_t nd = 0, dcap = 0;
	int rc = -1;
	bool have_ev = false;

	*docs = NULL;
	*ndocs = 0;
	if (len > lim->max_input) {
		seterr(err, errlen, eline, ecol, 0, 0, "file too large");
		return -1;
	}
	stack = calloc(lim->max_depth + 2, sizeof *stack);
	if (!stack) {
		seterr(err, errlen, eline, ecol, 0, 0, "out of memory");
		return -2;
	}
	if (!yaml_parser_initialize(&p)) {
		free(stack);
		seterr(err, errlen, eline, ecol, 0, 0, "out of memory");
		return -2;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);

	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			char m[256];
			snprintf(m, sizeof m, "YAML syntax error: %s%s%s", p.problem ? p.problem : "invalid YAML",
				 p.context ? " " : "", p.context ? p.context : "");
			seterr(err, errlen, eline, ecol, p.problem_mark.line, p.problem_mark.column, m);
			goto out;
		}
		have_ev = true;
		yaml_mark_t sm = ev.start_mark;
		slo__ynode *node = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			rc = 0;
			goto out;
		case YAML_DOCUMENT_START_EVENT:
			if (nd >= lim->max_docs) {
				seterr(err, errlen, eline, ecol, sm.line, sm.column, "too many YAML documents");
				goto out;
			}
			if (nd == dcap) {
				size_t nc = dcap ? dcap * 2 : 4;
				slo__ydoc *ndv = realloc(dv, nc * sizeof *ndv);
				if (!ndv)
					goto nomem;
				dv = ndv;
				dcap = nc;
			}
			dv[nd].root = NULL;
			dv[nd].line = (uint32_t)sm.line + 1;
			dv[nd].start = sm.index;
			dv[nd].end = sm.index;
			nd++;
			depth = 0;
			break;
		case YAML_DOCUMENT_END_EVENT:
			if (nd > 0)
				dv[nd - 1].end = ev.end_mark.index;
			break;
		case YAML_ALIAS_EVENT:
			seterr(err, errlen, eline, ecol, sm.line, sm.column,
			       "YAML aliases (*name) are not supported");
			goto out;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++nodes > lim->max_nodes) {
				seterr(err, errlen, eline, ecol, sm.line, sm.column, "too many YAML nodes");
				goto out;
			}
			node = arena_calloc(a, 1, sizeof *node);
			if (!node)
				goto nomem;
			node->line = (uint32_t)sm.line + 1;
			node->col = (uint32_t)sm.column + 1;
			node->end_line = (uint32_t)ev.end_mark.line + 1;
			node->start = sm.index;
			node->end = ev.end_mark.index;
			if (ev.type == YAML_SCALAR_EVENT) {
				size_t sl = ev.data.scalar.length;
				if (sl > lim->max_scalar) {
					seterr(err, errlen, eline, ecol, sm.line, sm.column, "YAML scalar too long");
					goto out;
				}
				node->type = SLO__Y_SCALAR;
				node->str = arena_strndup(a, (const char *)ev.data.scalar.value, sl);
				if (!node->str)
					goto nomem;
				node->len = sl;
				switch (ev.data.scalar.style) {
				case YAML_SINGLE_QUOTED_SCALAR_STYLE: node->style = SLO__Y_SINGLE; break;
				case YAML_DOUBLE_QUOTED_SCALAR_STYLE: node->style = SLO__Y_DOUBLE; break;
				case YAML_LITERAL_SCALAR_STYLE: node->style = SLO__Y_LITERAL; break;
				case YAML_FOLDED_SCALAR_STYLE: node->style = SLO__Y_FOLDED; break;
				default: node->style = SLO__Y_PLAIN; break;
				}
			} else {
				node->type = ev.type == YAML_MAPPING_START_EVENT ? SLO__Y_MAP : SLO__Y_SEQ;
			}
			if (depth > 0) {
				frame *f = &stack[depth - 1];
				if (f->node->type == SLO__Y_MAP && (f->n % 2) == 0 && node->type != SLO__Y_SCALAR) {
					seterr(err, errlen, eline, ecol, sm.line, sm.column,
					       "complex YAML keys are not supported");
					goto out;
				}
				if (push_kid(f, node) != 0)
					goto nomem;
			} else if (nd > 0) {
				dv[nd - 1].root = node;
			}
			if (node->type != SLO__Y_SCALAR) {
				if (depth >= lim->max_depth) {
					seterr(err, errlen, eline, ecol, sm.line, sm.column, "YAML nesting too deep");
					goto out;
				}
				stack[depth].node = node;
				stack[depth].n = 0;
				depth++;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: {
			if (depth == 0)
				break;
			frame *f = &stack[depth - 1];
			slo__ynode *n = f->node;
			n->end_line = (uint32_t)ev.end_mark.line + 1;
			if (f->n) {
				n->items = arena_alloc(a, f->n * sizeof *n->items);
				if (!n->items)
					goto nomem;
				memcpy(n->items, f->kids, f->n * sizeof *n->items);
			}
			n->n = n->type == SLO__Y_MAP ? f->n / 2 : f->n;
			f->n = 0;
			depth--;
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
		have_ev = false;
	}
nomem:
	seterr(err, errlen, eline, ecol, 0, 0, "out of memory");
	rc = -2;
out:
	if (have_ev)
		yaml_event_delete(&ev);
	yaml_parser_delete(&p);
	for (size_t i = 0; i < lim->max_depth + 2; i++)
		free(stack[i].kids);
	free(stack);
	if (rc == 0 && nd) {
		*docs = arena_alloc(a, nd * sizeof **docs);
		if (!*docs) {
			seterr(err, errlen, eline, ecol, 0, 0, "out of memory");
			rc = -2;
		} else {
			memcpy(*docs, dv, nd * sizeof **docs);
			*ndocs = nd;
		}
	}
	free(dv);
	return rc;
}

const slo__ynode *slo__ymap_get(const slo__ynode *m, const char *key, const slo__ynode **key_out)
{
	if (!m || m->type != SLO__Y_MAP)
		return NULL;
	/* Exact match first (Go's encoding/json prefers it), then case-insensitive. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < m->n; i++) {
			const slo__ynode *k = m->items[2 * i];
			if (k->type != SLO__Y_SCALAR)
				continue;
			if (pass == 0 ? strcmp(k->str, key) == 0 : strcasecmp(k->str, key) == 0) {
				if (key_out)
					*key_out = k;
				return m->items[2 * i + 1];
			}
		}
	}
	return NULL;
}

bool slo__yis_null(const slo__ynode *n)
{
	if (!n)
		return true;
	if (n->type != SLO__Y_SCALAR || n->style != SLO__Y_PLAIN)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
	       strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}
