/*
 * http_client.c — see http_client.h. Reads until EOF (the server closes after the response because
 * we send Connection: close), then splits headers and body at the first blank line. Handles
 * Content-Length bodies and chunked transfer encoding.
 */
#include "http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
	int64_t left = deadline - now_ms();
	if (left <= 0)
		return -1;
	struct pollfd p = {fd, ev, 0};
	int rc = poll(&p, 1, (int)left);
	return rc > 0 ? 0 : -1;
}

static int send_all(int fd, const void *p, size_t n, int64_t deadline)
{
	const char *c = p;
	while (n) {
		if (wait_fd(fd, POLLOUT, deadline) != 0)
			return -1;
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Decodes a chunked body in place; returns the decoded length. */
static size_t dechunk(char *b, size_t n)
{
	size_t in = 0, out = 0;
	while (in < n) {
		char *end;
		unsigned long sz = strtoul(b + in, &end, 16);
		char *crlf = strstr(b + in, "\r\n");
		if (!crlf || end > crlf)
			break;
		in = (size_t)(crlf - b) + 2;
		if (sz == 0 || in + sz > n)
			break;
		memmove(b + out, b + in, sz);
		out += sz;
		in += sz + 2;
	}
	b[out] = '\0';
	return out;
}

int http_request(uint16_t port, const char *method, const char *path, const char *extra_headers, const void *body,
		 size_t body_len, int timeout_ms, http_resp *out)
{
	memset(out, 0, sizeof *out);
	int64_t deadline = now_ms() + timeout_ms;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	char head[8192];
	int hn = snprintf(head, sizeof head,
			  "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n",
			  method, path, port, extra_headers ? extra_headers : "", body_len);
	if (hn < 0 || (size_t)hn >= sizeof head || send_all(fd, head, (size_t)hn, deadline) != 0 ||
	    (body_len && send_all(fd, body, body_len, deadline) != 0)) {
		/* the server may answer early (413) and close: still try to read the reply */
	}
	size_t cap = 65536, len = 0;
	char *raw = malloc(cap);
	if (!raw) {
		close(fd);
		return -1;
	}
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) != 0)
			break;
		if (len + 4096 + 1 > cap) {
			cap *= 2;
			char *p = realloc(raw, cap);
			if (!p)
				break;
			raw = p;
		}
		ssize_t r = recv(fd, raw + len, cap - len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	raw[len] = '\0';
	char *sep = strstr(raw, "\r\n\r\n");
	if (!sep || sscanf(raw, "HTTP/1.%*d %d", &out->status) != 1) {
		free(raw);
		out->status = 0;
		return -1;
	}
	size_t hlen = (size_t)(sep - raw);
	out->headers = strndup(raw, hlen);
	size_t blen = len - hlen - 4;
	out->body = malloc(blen + 1);
	memcpy(out->body, sep + 4, blen);
	out->body[blen] = '\0';
	out->body_len = blen;
	char te[64];
	if (http_resp_header(out, "Transfer-Encoding", te, sizeof te) == 0 && strcasecmp(te, "chunked") == 0)
		out->body_len = dechunk(out->body, blen);
	free(raw);
	return 0;
}

int http_resp_header(const http_resp *r, const char *name, char *out, size_t cap)
{
	if (!r->headers)
		return -1;
	size_t nl = strlen(name);
	for (const char *line = strstr(r->headers, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;
		if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
			const char *v = h + nl + 1;
			while (*v == ' ')
				v++;
			const char *e = strstr(v, "\r\n");
			size_t n = e ? (size_t)(e - v) : strlen(v);
			if (n >= cap)
				n = cap - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 0;
		}
	}
	return -1;
}

void http_resp_free(http_resp *r)
{
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof *r);
}
