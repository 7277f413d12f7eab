/*
 * test_torture_alloc.c — the fault-injecting allocator of test_torture_alloc.h, through the
 * linker's --wrap: __wrap_malloc counts and either fails or calls __real_malloc (libc's, or the
 * sanitizer's interceptor); with TORTURE_BACKTRACE set in the environment the failing call's
 * backtrace goes to stderr. State: three atomics (test-only global state; the product has none).
 * Cost: one atomic increment per allocation.
 */
#include "test_torture_alloc.h"

#include <execinfo.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static atomic_ulong fail_at;   /* 0: disarmed */
static atomic_ulong counter;
static atomic_bool failed;

void torture_fail_nth(unsigned long n)
{
	atomic_store(&counter, 0);
	atomic_store(&failed, false);
	atomic_store(&fail_at, n);
}

bool torture_disarm(void)
{
	atomic_store(&fail_at, 0);
	return atomic_load(&failed);
}

unsigned long torture_count(void)
{
	return atomic_load(&counter);
}

/* True if this allocation is the one to fail. */
static bool hit(void)
{
	unsigned long at = atomic_load_explicit(&fail_at, memory_order_relaxed);
	if (!at)
		return false;
	if (atomic_fetch_add(&counter, 1) + 1 != at)
		return false;
	atomic_store(&failed, true);
	if (getenv("TORTURE_BACKTRACE")) { /* debugging aid: where the injected failure happens */
		void *frames[32];
		int n = backtrace(frames, 32);
		backtrace_symbols_fd(frames, n, STDERR_FILENO);
		(void)!write(STDERR_FILENO, "----\n", 5);
	}
	return true;
}

void *__wrap_malloc(size_t n)
{
	return hit() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return hit() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	/* realloc(p, 0) frees on glibc: never fail that one (a NULL would look like a leak) */
	if (n == 0)
		return __real_realloc(p, n);
	return hit() ? NULL : __real_realloc(p, n);
}
