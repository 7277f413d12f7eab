/*
 * log.h — logging without global state: modules receive a slod_logger from their caller (main)
 * and never write to stderr themselves. A NULL fn discards messages.
 */
#ifndef SLOD_UTIL_LOG_H
#define SLOD_UTIL_LOG_H

#include <stdarg.h>

enum { SLOD_LOG_DEBUG, SLOD_LOG_INFO, SLOD_LOG_WARN, SLOD_LOG_ERROR };

typedef struct slod_logger {
	void (*fn)(void *ud, int level, const char *component, const char *msg);
	void *ud;
	int min_level;
} slod_logger;

/* Formats and forwards to lg->fn when level >= lg->min_level. lg may be NULL. */
void slod_log(const slod_logger *lg, int level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A ready-made fn writing "ts=... level=... component=... msg=..." lines to stderr; used by main. */
void slod_log_stderr(void *ud, int level, const char *component, const char *msg);

#endif
