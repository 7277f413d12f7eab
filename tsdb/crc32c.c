/*
 * crc32c.c — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by the WAL and
 * snapshot files. tsdb__crc32c(0, "123456789", 9) == 0xE3069283.
 *
 * Two implementations with identical results: the SSE4.2 crc32 instruction (8 bytes per step,
 * chosen at run time when the CPU has it) and a portable slicing-by-8 table walk. The tables are
 * computed once into static const-after-init storage guarded by pthread_once (the only static state
 * of the module; it is immutable after initialisation).
 *
 * Cost: ~0.3 cycles/byte with SSE4.2, ~1.5 cycles/byte with slicing-by-8.
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "tsdb/tsdb_int.h"

static uint32_t crc_tab[8][256];
static bool have_sse42;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_sw(uint32_t c, const uint8_t *p, size_t n)
{
	while (n && ((uintptr_t)p & 7)) {
		c = crc_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
		n--;
	}
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		w ^= c;
		c = crc_tab[7][w & 0xff] ^ crc_tab[6][(w >> 8) & 0xff] ^ crc_tab[5][(w >> 16) & 0xff] ^
		    crc_tab[4][(w >> 24) & 0xff] ^ crc_tab[3][(w >> 32) & 0xff] ^ crc_tab[2][(w >> 40) & 0xff] ^
		    crc_tab[1][(w >> 48) & 0xff] ^ crc_tab[0][w >> 56];
		p += 8;
		n -= 8;
	}
	while (n--)
		c = crc_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64 = c;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c64 = __builtin_ia32_crc32di(c64, w);
		p += 8;
		n -= 8;
	}
	c = (uint32_t)c64;
	while (n--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}
#endif

uint32_t tsdb__crc32c(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&crc_once, crc_init);
	uint32_t c = ~crc;
#if defined(__x86_64__)
	if (have_sse42)
		return ~crc_hw(c, p, n);
#endif
	return ~crc_sw(c, p, n);
}

uint32_t tsdb__crc32c_sw(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&crc_once, crc_init);
	return ~crc_sw(~crc, p, n);
}
