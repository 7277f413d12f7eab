/*
 * calendar.c — calendar SLO periods (slod extension): the start of the current week, month or
 * quarter in a time zone, without the C library's process-wide TZ state (thread-safe, pure).
 *
 * A time zone (slo_tz, filled by load.c) is UTC, a fixed offset, or an IANA zone's transition
 * table read once from the system zoneinfo at load: the offset in force at t is the one of the
 * last transition at or before t (binary search; before the first: before_s; after the last —
 * 2037 in Debian's files — the last one stays).
 *
 * Start of the period holding t: local = t + offset(t); the local civil date is computed with
 * days-from-civil arithmetic (proleptic Gregorian); the local start (Monday / the 1st / the
 * quarter's first month, 00:00) is converted back to UTC with the offset in force just before
 * that instant (start − offset(start − offset guess)), which is exact except inside a DST gap at
 * midnight (rare; then the first instant after the gap is used).
 *
 * Cost: O(log transitions).
 */
#include <string.h>

#include "slo/slo_int.h"

static int32_t tz_offset(const slo_tz *tz, int64_t t_s)
{
	if (!tz || tz->n == 0)
		return tz ? tz->fixed_s : 0;
	if (t_s < tz->at_s[0])
		return tz->before_s;
	size_t lo = 0, hi = tz->n; /* last i with at_s[i] <= t_s */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->at_s[mid] <= t_s)
			lo = mid;
		else
			hi = mid;
	}
	return tz->off_s[lo];
}

static int64_t fdiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days since 1970-01-01 of y-m-d (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = fdiv(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = fdiv(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int64_t slo_calendar_start_ms(slo_calendar c, const slo_tz *tz, int64_t t_ms)
{
	if (c == SLO_CAL_NONE)
		return t_ms;
	int64_t t_s = fdiv(t_ms, 1000);
	int64_t local = t_s + tz_offset(tz, t_s);
	int64_t days = fdiv(local, 86400), sd;
	if (c == SLO_CAL_WEEK) {
		int64_t wd = ((days + 3) % 7 + 7) % 7; /* 1970-01-01 was a Thursday; 0 = Monday */
		sd = days - wd;
	} else {
		int64_t y;
		int m, d;
		civil_from_days(days, &y, &m, &d);
		if (c == SLO_CAL_QUARTER)
			m = (m - 1) / 3 * 3 + 1;
		sd = days_from_civil(y, m, 1);
	}
	int64_t start_local = sd * 86400;
	/* the offset in force at the start: try the offset now, then the one at that guess */
	int64_t guess = start_local - tz_offset(tz, t_s);
	int64_t start = start_local - tz_offset(tz, guess);
	if (start + tz_offset(tz, start) != start_local) {
		int64_t alt = start_local - tz_offset(tz, start);
		if (alt + tz_offset(tz, alt) == start_local)
			start = alt;
	}
	return start * 1000;
}

int64_t slo_calendar_max_ms(slo_calendar c)
{
	switch (c) {
	case SLO_CAL_WEEK: return 7LL * 86400000;
	case SLO_CAL_MONTH: return 31LL * 86400000;
	case SLO_CAL_QUARTER: return 92LL * 86400000;
	default: return 0;
	}
}

const char *slo_calendar_name(slo_calendar c)
{
	switch (c) {
	case SLO_CAL_WEEK: return "week";
	case SLO_CAL_MONTH: return "month";
	case SLO_CAL_QUARTER: return "quarter";
	default: return "";
	}
}
