/*
 * arena.h — bump allocator for per-request, per-query and per-parse memory.
 *
 * An arena is a singly linked list of blocks; arena_alloc() carves 16-byte aligned pieces from the
 * newest block and opens a new block (at least ARENA_BLOCK_MIN bytes, or the request size) when it
 * runs out. Nothing is freed individually: arena_reset() keeps the first block and frees the rest,
 * arena_deinit() frees everything. Allocation is O(1) amortised.
 *
 * With SLOD_ARENA_DEBUG defined (the sanitizer build), every allocation is its own malloc() kept on
 * a list, so AddressSanitizer sees each overflow and use-after-reset.
 *
 * An optional byte limit bounds the total: past it arena_alloc() returns NULL (callers turn that
 * into "too large" errors at trust boundaries).
 *
 * Cleanups: arena_on_release() registers a callback (e.g. freeing a compiled regex held by an
 * object in the arena); arena_reset() and arena_deinit() run them newest first, before freeing
 * the blocks.
 */
#ifndef SLOD_UTIL_ARENA_H
#define SLOD_UTIL_ARENA_H

#include <stddef.h>

#define ARENA_BLOCK_MIN (64 * 1024)

typedef struct arena_block arena_block;
typedef struct arena_cleanup arena_cleanup;

typedef struct arena {
	arena_block *head;  /* newest block, or NULL */
	size_t used;        /* bytes handed out, for limits and stats */
	size_t limit;       /* 0 = unlimited */
	arena_cleanup *cleanups; /* newest first; run by reset/deinit */
} arena;

/* Initialises caller storage. limit is the most bytes arena_alloc() may hand out (0: no limit). */
void arena_init(arena *a, size_t limit);
/* Frees every block. The arena may be arena_init()ed again. */
void arena_deinit(arena *a);
/* Forgets every allocation; keeps one block for reuse. */
void arena_reset(arena *a);
/* Returns n bytes aligned to 16, or NULL when out of memory or over the limit. n==0 returns a
 * valid unique pointer. The memory is uninitialised. */
void *arena_alloc(arena *a, size_t n);
/* Like arena_alloc() but zeroed. */
void *arena_calloc(arena *a, size_t count, size_t size);
/* Copies len bytes of s and a NUL; returns NULL on failure. */
char *arena_strndup(arena *a, const char *s, size_t len);
char *arena_strdup(arena *a, const char *s);
/* Registers fn(ud) to run once at the next arena_reset()/arena_deinit() (newest first, before the
 * blocks are freed). Returns 0, or -1 on allocation failure (nothing registered: the caller still
 * owns whatever ud refers to). */
int arena_on_release(arena *a, void (*fn)(void *ud), void *ud);
/* printf into the arena; returns NULL on failure. */
char *arena_sprintf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
