/*
 * arena.c — bump allocator; see arena.h for the layout.
 *
 * Block layout: [arena_block header][payload ... cap bytes]. pos is the offset of the next free
 * byte in the payload; invariant pos <= cap. In SLOD_ARENA_DEBUG mode every allocation is a block
 * of its own with cap == the request, so ASan guards each one.
 */
#include "util/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena_block {
	arena_block *next;
	size_t pos;
	size_t cap;
	_Alignas(16) unsigned char data[];
};

struct arena_cleanup {
	arena_cleanup *next;
	void (*fn)(void *ud);
	void *ud;
};

static void run_cleanups(arena *a)
{
	arena_cleanup *c = a->cleanups;
	a->cleanups = NULL;
	while (c) {
		arena_cleanup *next = c->next; /* c lives in the arena: read before fn */
		c->fn(c->ud);
		c = next;
	}
}

int arena_on_release(arena *a, void (*fn)(void *ud), void *ud)
{
	arena_cleanup *c = arena_alloc(a, sizeof(*c));
	if (!c)
		return -1;
	c->fn = fn;
	c->ud = ud;
	c->next = a->cleanups;
	a->cleanups = c;
	return 0;
}

void arena_init(arena *a, size_t limit)
{
	a->cleanups = NULL;
	a->head = NULL;
	a->used = 0;
	a->limit = limit;
}

void arena_deinit(arena *a)
{
	run_cleanups(a);
	arena_block *b = a->head;
	while (b) {
		arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
	a->used = 0;
}

void arena_reset(arena *a)
{
#ifdef SLOD_ARENA_DEBUG
	arena_deinit(a);
#else
	run_cleanups(a);
	arena_block *keep = a->head;
	if (!keep) {
		a->used = 0;
		return;
	}
	/* keep the newest (usually largest) block */
	arena_block *b = keep->next;
	while (b) {
		arena_block *next = b->next;
		free(b);
		b = next;
	}
	keep->next = NULL;
	keep->pos = 0;
	a->used = 0;
#endif
}

void *arena_alloc(arena *a, size_t n)
{
	size_t need = (n + 15) & ~(size_t)15;
	if (need < n)
		return NULL;
	if (a->limit && (need > a->limit || a->used > a->limit - need))
		return NULL;
#ifdef SLOD_ARENA_DEBUG
	arena_block *b = malloc(sizeof(*b) + (n ? n : 1));
	if (!b)
		return NULL;
	b->cap = n;
	b->pos = n;
	b->next = a->head;
	a->head = b;
	a->used += need;
	return b->data;
#else
	arena_block *b = a->head;
	if (!b || b->cap - b->pos < need) {
		size_t cap = need > ARENA_BLOCK_MIN ? need : ARENA_BLOCK_MIN;
		if (b && b->cap * 2 > cap && b->cap * 2 <= 64u * 1024 * 1024)
			cap = b->cap * 2;
		arena_block *nb = malloc(sizeof(*nb) + cap);
		if (!nb)
			return NULL;
		nb->cap = cap;
		nb->pos = 0;
		nb->next = b;
		a->head = nb;
		b = nb;
	}
	void *p = b->data + b->pos;
	b->pos += need;
	a->used += need;
	return p;
#endif
}

void *arena_calloc(arena *a, size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size)
		return NULL;
	void *p = arena_alloc(a, count * size);
	if (p)
		memset(p, 0, count * size);
	return p;
}

char *arena_strndup(arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *arena_strdup(arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_sprintf(arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
