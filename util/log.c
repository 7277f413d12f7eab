/*
 * log.c — logfmt lines for slod_logger; see log.h.
 */
#include "util/log.h"

#include <stdio.h>
#include <time.h>

#include "util/fmt.h"

void slod_log(const slod_logger *lg, int level, const char *component, const char *fmt, ...)
{
	if (!lg || !lg->fn || level < lg->min_level)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	lg->fn(lg->ud, level, component, msg);
}

void slod_log_stderr(void *ud, int level, const char *component, const char *msg)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	struct timespec ts;
	char when[40];
	(void)ud;
	clock_gettime(CLOCK_REALTIME, &ts);
	fmt_rfc3339_ms(when, sizeof when, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	fprintf(stderr, "ts=%s level=%s component=%s msg=\"%s\"\n", when, names[level & 3], component, msg);
}
