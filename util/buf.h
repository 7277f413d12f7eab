/*
 * buf.h — growable byte buffer (like curl's dynbuf): heap storage, always NUL-terminated after
 * the len bytes, with an optional maximum size so untrusted input cannot grow it without bound.
 *
 * Owned by the caller (buf_init on caller storage, buf_deinit frees). Append is amortised O(1).
 * On failure (ENOMEM or over max) the buffer keeps its previous contents and -1 is returned.
 */
#ifndef SLOD_UTIL_BUF_H
#define SLOD_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
	char *data;   /* NULL until the first append; else NUL-terminated at data[len] */
	size_t len;
	size_t cap;
	size_t max;   /* 0 = unlimited */
} buf;

/* Initialises caller storage as an empty buffer that never grows past max bytes (0 = no limit).
 * Allocates nothing until the first append. */
void buf_init(buf *b, size_t max);
/* Frees the data; the buffer is empty (and reusable) afterwards. */
void buf_deinit(buf *b);
void buf_reset(buf *b);                         /* len = 0, keeps memory */
int buf_reserve(buf *b, size_t extra);          /* 0 or -1 */
int buf_append(buf *b, const void *p, size_t n); /* 0 or -1 */
int buf_puts(buf *b, const char *s);
int buf_putc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal with quotes and escapes. */
int buf_json_str(buf *b, const char *s, size_t n);
/* Detaches the data (caller frees); leaves b empty. Never NULL unless OOM (returns "" copy). */
char *buf_steal(buf *b);

#endif
