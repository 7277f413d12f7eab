/*
 * fuzz_api_params.c — fuzz target for the api module's request parsing of untrusted input: form
 * bodies / query strings (api__form_parse, api__url_decode), route patterns against arbitrary
 * paths (api__route_match over the real route table), listen addresses (api__split_hostport) and
 * API time parameters (api__param_time). Checks invariants, not just absence of crashes:
 * decoded output never exceeds its input, every parsed parameter is retrievable, a route match
 * yields no more path parameters than the pattern has.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	const char *s = (const char *)data;
	char *dec = malloc(size + 1);
	char *str = malloc(size + 1);
	if (!dec || !str)
		abort();
	memcpy(str, data, size);
	str[size] = '\0';

	long n = api__url_decode(s, size, dec, true);
	if (n > (long)size)
		abort();

	api_req r;
	memset(&r, 0, sizeof r);
	arena_init(&r.arena, 0);
	buf_init(&r.out, 0);
	buf_init(&r.body, 0);
	if (api__form_parse(&r, s, size) == 0) {
		for (size_t i = 0; i < r.n_params; i++) {
			const char **all;
			if (api__param_all(&r, r.params[i].name, &all) == 0 || !api__param(&r, r.params[i].name))
				abort();
		}
	}
	int64_t t;
	if (api__param_add(&r, "start", 5, str, strlen(str)) == 0)
		(void)api__param_time(&r, "start", 0, &t);

	for (size_t i = 0; i < api__n_routes; i++) {
		const char *params[API_MAX_PATH_PARAMS];
		size_t np = 0;
		if (api__route_match(api__routes[i].pattern, str, &r.arena, params, &np)) {
			size_t colons = 0;
			for (const char *p = api__routes[i].pattern; *p; p++)
				colons += *p == ':';
			if (np > colons)
				abort();
		}
	}
	char host[256];
	uint16_t port;
	if (api__split_hostport(str, host, sizeof host, &port) == 0 && strlen(host) >= sizeof host)
		abort();

	arena_deinit(&r.arena);
	buf_deinit(&r.out);
	buf_deinit(&r.body);
	free(dec);
	free(str);
	return 0;
}
