/*
 * http_client.h — a minimal blocking HTTP/1.1 client over plain sockets for tests: one request per
 * connection (Connection: close), whole response read into memory. Not for production use.
 */
#ifndef SLOD_TESTS_HTTP_CLIENT_H
#define SLOD_TESTS_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct http_resp {
	int status;          /* 0 when the connection failed */
	char *headers;       /* raw header block (owned) */
	char *body;          /* NUL-terminated (owned) */
	size_t body_len;
} http_resp;

/* Sends method path with extra_headers (each line ending "\r\n", may be NULL) and body (may be
 * NULL) to 127.0.0.1:port. timeout_ms bounds connect+send+receive. Returns 0 or -1 (status 0). */
int http_request(uint16_t port, const char *method, const char *path, const char *extra_headers, const void *body,
		 size_t body_len, int timeout_ms, http_resp *out);
/* Header value (case-insensitive name) copied into out, or -1 when absent. */
int http_resp_header(const http_resp *r, const char *name, char *out, size_t cap);
void http_resp_free(http_resp *r);

#endif
