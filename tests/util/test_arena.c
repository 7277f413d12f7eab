/* Tests for util/arena.c and util/buf.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/arena.h"
#include "util/buf.h"

static void test_arena_alloc(void **state)
{
	(void)state;
	arena a;
	arena_init(&a, 0);
	char *p = arena_strdup(&a, "hello");
	assert_string_equal(p, "hello");
	for (int i = 0; i < 10000; i++) {
		int *x = arena_alloc(&a, 100);
		assert_non_null(x);
		assert_int_equal(((uintptr_t)x) % 16, 0);
		memset(x, 0xab, 100);
	}
	void *big = arena_alloc(&a, 1 << 20);
	assert_non_null(big);
	arena_reset(&a);
	assert_int_equal(a.used, 0);
	assert_string_equal(arena_sprintf(&a, "%d-%s", 7, "x"), "7-x");
	arena_deinit(&a);
}

static void test_arena_limit(void **state)
{
	(void)state;
	arena a;
	arena_init(&a, 1000);
	assert_non_null(arena_alloc(&a, 900));
	assert_null(arena_alloc(&a, 200));
	assert_null(arena_alloc(&a, SIZE_MAX));
	arena_deinit(&a);
}

static void test_buf(void **state)
{
	(void)state;
	buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "12345"), 0);
	assert_int_equal(buf_printf(&b, "%d", 678), 0);
	assert_string_equal(b.data, "12345678");
	assert_int_equal(buf_puts(&b, "abc"), -1);
	assert_string_equal(b.data, "12345678");
	buf_reset(&b);
	assert_int_equal(buf_json_str(&b, "a\"\n", 3), 0);
	assert_string_equal(b.data, "\"a\\\"\\n\"");
	buf_deinit(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arena_alloc),
		cmocka_unit_test(test_arena_limit),
		cmocka_unit_test(test_buf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
