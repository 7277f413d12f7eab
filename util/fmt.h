/*
 * fmt.h — number and time formatting and parsing shared by every module, matching Go's strconv so
 * that slod prints exactly what Prometheus prints.
 */
#ifndef SLOD_UTIL_FMT_H
#define SLOD_UTIL_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FMT_FLOAT_MAX 40

/* Go strconv.FormatFloat(v, mode, -1, 64) for mode 'f', 'e' or 'g' (shortest round-trip digits).
 * Writes at most FMT_FLOAT_MAX bytes incl. NUL; returns the length. NaN -> "NaN", ±Inf -> "+Inf"/"-Inf". */
size_t fmt_float_go(char *out, double v, char mode);
/* Prometheus's JSON sample value: 'f' shortest, or 'e' when |v| < 1e-6 or |v| >= 1e21 (v != 0). */
size_t fmt_float_prom(char *out, double v);

/* Parses a Prometheus duration ("1h30m", "5m", "1.5" is NOT accepted) into milliseconds.
 * Units y w d h m s ms, each at most once, in that order. Returns 0 or -1. */
int slod_parse_duration_ms(const char *s, size_t n, int64_t *out_ms);
/* Formats milliseconds like Prometheus model.Duration.String() ("1d", "30d", "2w", "1h30m", "0s"). */
size_t fmt_duration_ms(char *out, size_t cap, int64_t ms);

/* Parses an API time: unix seconds with optional fraction ("1700000000.123"), or RFC3339
 * ("2023-01-02T03:04:05.678Z" or with ±hh:mm). Returns 0 and milliseconds, or -1. */
int slod_parse_time_ms(const char *s, int64_t *out_ms);
/* Parses a duration for API parameters: a Prometheus duration or a float number of seconds, at
 * most ~292 years (Go's time.Duration range, as Prometheus). Returns 0 and milliseconds, or -1. */
int parse_api_duration_ms(const char *s, int64_t *out_ms);
/* Formats milliseconds as RFC3339 UTC with millisecond precision when non-zero
 * ("2023-01-02T03:04:05.678Z"). */
size_t fmt_rfc3339_ms(char *out, size_t cap, int64_t ms);

#endif
