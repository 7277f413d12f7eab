/*
 * test_torture_alloc.h — a fault-injecting allocator for torture tests (curl's torture tests,
 * SQLite's OOM tests): fail the Nth allocation, for N = 1, 2, ... until an operation runs through.
 *
 * Link a test with test_torture_alloc.c and -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (each
 * tests/<module>/torture.cmake does): every malloc/calloc/realloc called by
 * the test's objects and the static slod_* libraries then goes through the counters here. Calls
 * made inside shared libraries (libc, libyaml, PCRE2, snappy) are not counted. Not thread-safe in
 * the sense that the Nth allocation of a multi-threaded run is not deterministic: arm it around
 * single-threaded code only.
 */
#ifndef SLOD_TESTS_TORTURE_ALLOC_H
#define SLOD_TESTS_TORTURE_ALLOC_H

#include <stdbool.h>

/* Arms the allocator: the nth allocation from now (1-based) returns NULL, the others succeed.
 * n == 0 disarms it. Resets the allocation counter and the "failed" flag. */
void torture_fail_nth(unsigned long n);
/* Disarms; returns true if the armed failure happened since torture_fail_nth(). */
bool torture_disarm(void);
/* Allocations counted since the last torture_fail_nth(). */
unsigned long torture_count(void);

#endif
