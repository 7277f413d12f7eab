/*
 * fmt.c — Go-compatible float formatting and Prometheus duration/time parsing.
 *
 * Shortest digits: the least precision p in 1..17 whose "%.{p-1}e" strtod() reads back to the
 * same double (for normal doubles: 15 digits without trailing zeros, else 16, else 17; see
 * shortest_digits). That gives the digit string d1..dn and decimal exponent e
 * (value = 0.d1..dn × 10^(e+1)), which is then laid out as Go's 'f', 'e' or 'g' would.
 * Cost: one or two snprintf/strtod pairs per number.
 */
#include "util/fmt.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* digits: NUL-terminated significant digits without dot; returns exponent of the first digit. */
static int shortest_digits(double v, char digits[20])
{
	/* Round-tripping is monotone in p (a longer correctly rounded string is at least as close).
	 * Normal doubles: if 15 digits round-trip, the shortest string is those 15 digits without
	 * their trailing zeros (v lies within 2^-53 of its shortest decimal D, far inside D's
	 * 15-digit rounding interval, so rounding v to 15 digits gives D padded with zeros); else 16
	 * or 17. At most two snprintf/strtod pairs. Subnormals (fewer mantissa bits) and zero: binary
	 * search over p. */
	char tmp[40];
	if (v >= DBL_MIN) {
		snprintf(tmp, sizeof tmp, "%.14e", v); /* 15 digits; trailing zeros are stripped below */
		if (strtod(tmp, NULL) != v) {
			snprintf(tmp, sizeof tmp, "%.15e", v);
			if (strtod(tmp, NULL) != v)
				snprintf(tmp, sizeof tmp, "%.16e", v);
		}
	} else {
		int lo = 1, hi = 17;
		while (lo < hi) {
			int mid = (lo + hi) / 2;
			snprintf(tmp, sizeof tmp, "%.*e", mid - 1, v);
			if (strtod(tmp, NULL) == v)
				hi = mid;
			else
				lo = mid + 1;
		}
		snprintf(tmp, sizeof tmp, "%.*e", lo - 1, v);
	}
	/* tmp = "d.ddde[+-]xx" (v >= 0 here) */
	size_t k = 0;
	const char *s = tmp;
	for (; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9')
			digits[k++] = *s;
	digits[k] = '\0';
	/* strip trailing zeros but keep one digit */
	while (k > 1 && digits[k - 1] == '0')
		digits[--k] = '\0';
	return atoi(s + 1);
}

static size_t fmt_e(char *out, const char *sign, const char *d, int exp)
{
	int n = snprintf(out, FMT_FLOAT_MAX, "%s%c%s%s%se%c%02d", sign, d[0], d[1] ? "." : "", d + 1, "",
			 exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	return (size_t)n;
}

static size_t fmt_f(char *out, const char *sign, const char *d, int exp)
{
	char tmp[400];
	size_t k = 0, nd = strlen(d);
	if (exp < 0) {
		tmp[k++] = '0';
		tmp[k++] = '.';
		for (int i = -1; i > exp; i--)
			tmp[k++] = '0';
		memcpy(tmp + k, d, nd);
		k += nd;
	} else {
		for (int i = 0; i <= exp; i++)
			tmp[k++] = (size_t)i < nd ? d[i] : '0';
		if ((size_t)exp + 1 < nd) {
			tmp[k++] = '.';
			memcpy(tmp + k, d + exp + 1, nd - (size_t)exp - 1);
			k += nd - (size_t)exp - 1;
		}
	}
	tmp[k] = '\0';
	int n = snprintf(out, FMT_FLOAT_MAX, "%s%s", sign, tmp);
	if (n >= FMT_FLOAT_MAX) /* huge 'f' numbers: fall back to 'e' rather than overflow */
		return fmt_e(out, sign, d, exp);
	return (size_t)n;
}

size_t fmt_float_go(char *out, double v, char mode)
{
	if (isnan(v))
		return (size_t)snprintf(out, FMT_FLOAT_MAX, "NaN");
	if (isinf(v))
		return (size_t)snprintf(out, FMT_FLOAT_MAX, v > 0 ? "+Inf" : "-Inf");
	const char *sign = signbit(v) ? "-" : "";
	char d[20];
	int exp = shortest_digits(fabs(v), d);
	if (v == 0) {
		d[0] = '0', d[1] = '\0', exp = 0;
	}
	if (mode == 'e')
		return fmt_e(out, sign, d, exp);
	if (mode == 'g') /* Go: shortest 'g' switches to 'e' when exp < -4 || exp >= 6 */
		return (exp < -4 || exp >= 6) ? fmt_e(out, sign, d, exp) : fmt_f(out, sign, d, exp);
	return fmt_f(out, sign, d, exp);
}

size_t fmt_float_prom(char *out, double v)
{
	double a = fabs(v);
	if (a != 0 && !isnan(a) && !isinf(a) && (a < 1e-6 || a >= 1e21))
		return fmt_float_go(out, v, 'e');
	return fmt_float_go(out, v, 'f');
}

int slod_parse_duration_ms(const char *s, size_t n, int64_t *out_ms)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"y", 365LL * 86400000}, {"w", 7LL * 86400000}, {"d", 86400000}, {"h", 3600000},
		     {"m", 60000},            {"s", 1000},               {"ms", 1}};
	size_t i = 0;
	int last = -1;
	int64_t total = 0;
	if (n == 0)
		return -1;
	if (n == 1 && s[0] == '0') {
		*out_ms = 0;
		return 0;
	}
	while (i < n) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		int64_t num = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (num > (INT64_MAX - 9) / 10)
				return -1;
			num = num * 10 + (s[i++] - '0');
		}
		size_t u0 = i;
		while (i < n && ((s[i] >= 'a' && s[i] <= 'z')))
			i++;
		size_t ulen = i - u0;
		int which = -1;
		for (int k = 0; k < 7; k++)
			if (strlen(units[k].unit) == ulen && memcmp(units[k].unit, s + u0, ulen) == 0)
				which = k;
		if (which < 0 || which <= last)
			return -1;
		last = which;
		if (num > INT64_MAX / units[which].ms || total > INT64_MAX - num * units[which].ms)
			return -1;
		total += num * units[which].ms;
	}
	*out_ms = total;
	return 0;
}

size_t fmt_duration_ms(char *out, size_t cap, int64_t ms)
{
	if (ms == 0)
		return (size_t)snprintf(out, cap, "0s");
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"y", 365LL * 86400000}, {"w", 7LL * 86400000}, {"d", 86400000}, {"h", 3600000},
		     {"m", 60000},            {"s", 1000},               {"ms", 1}};
	size_t k = 0;
	if (ms < 0) {
		k += (size_t)snprintf(out + k, cap - k, "-");
		ms = -ms;
	}
	for (int i = 0; i < 7 && k < cap; i++) {
		/* like Prometheus: years and weeks only when they divide exactly ("90d", not "12w6d") */
		if (i < 2 && ms % units[i].ms != 0)
			continue;
		if (ms >= units[i].ms) {
			k += (size_t)snprintf(out + k, cap - k, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
			ms %= units[i].ms;
		}
	}
	return k;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int slod_parse_time_ms(const char *s, int64_t *out_ms)
{
	char *end;
	if (!s || !*s)
		return -1;
	double f = strtod(s, &end);
	if (*end == '\0' && end != s) {
		if (!isfinite(f) || f > 9.2e15 || f < -9.2e15)
			return -1;
		*out_ms = (int64_t)llround(f * 1000.0);
		return 0;
	}
	int Y, M, D, h, mi, sec, consumed = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &mi, &sec, &consumed) != 6 || consumed != 19)
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	const char *p = s + consumed;
	int64_t frac_ms = 0;
	if (*p == '.') {
		p++;
		int digits = 0;
		int64_t scale = 100;
		while (*p >= '0' && *p <= '9') {
			if (digits < 3)
				frac_ms += (*p - '0') * scale, scale /= 10;
			digits++, p++;
		}
		if (!digits)
			return -1;
	}
	int64_t off_s = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, n2 = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n2) != 2 || n2 != 5)
			return -1;
		off_s = (oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	int64_t days = days_from_civil(Y, (unsigned)M, (unsigned)D);
	*out_ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - off_s) * 1000 + frac_ms;
	return 0;
}

int parse_api_duration_ms(const char *s, int64_t *out_ms)
{
	char *end;
	if (!s || !*s)
		return -1;
	double f = strtod(s, &end);
	/* Prometheus parses these as Go durations (int64 nanoseconds): at most ~292 years */
	const double max_s = 9223372036.854775807;
	if (*end == '\0') {
		if (!isfinite(f) || f > max_s || f < -max_s)
			return -1;
		*out_ms = (int64_t)llround(f * 1000.0);
		return 0;
	}
	if (slod_parse_duration_ms(s, strlen(s), out_ms) != 0 || *out_ms > (int64_t)(max_s * 1000.0))
		return -1;
	return 0;
}

size_t fmt_rfc3339_ms(char *out, size_t cap, int64_t ms)
{
	int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int frac = (int)(ms - secs * 1000);
	time_t t = (time_t)secs;
	struct tm tm;
	gmtime_r(&t, &tm);
	if (frac)
		return (size_t)snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
					tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return (size_t)snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
				tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
