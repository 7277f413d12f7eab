/*
 * rwgen_http.c — the smallest HTTP/1.1 client that can drive a remote-write receiver: one blocking
 * TCP socket per connection, keep-alive, one request in flight (no pipelining).
 *
 * Request: "POST <path> HTTP/1.1" with Host, Content-Type: application/x-protobuf,
 * Content-Encoding: snappy, X-Prometheus-Remote-Write-Version: 0.1.0, Content-Length; the head is
 * sent with MSG_MORE so head and body leave in the same segments (TCP_NODELAY is on).
 *
 * Response: the head must fit in rbuf (8 KiB); the body is framed by Content-Length, chunked
 * transfer coding, or connection close; 1xx/204/304 have none. Body bytes are discarded except the
 * first 255, kept in last_body for error reports. Invariant between calls: either fd == -1, or the
 * connection is idle at a message boundary and rbuf holds rlen unread bytes (normally 0).
 *
 * Costs: two syscalls to send, one or two recv per response; no allocation.
 */
#include "bench/rwgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* ---- parsing (pure functions) -------------------------------------------------------------- */

static bool hdr_is(const char *line, size_t n, const char *name, const char **val, size_t *vlen)
{
	size_t k = strlen(name);
	if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
		return false;
	const char *v = line + k + 1, *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*val = v;
	*vlen = (size_t)(end - v);
	return true;
}

/* true if the comma-separated list v[0..n) contains token tok (case-insensitive) */
static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t k = strlen(tok);
	for (size_t i = 0; i + k <= n; i++)
		if (strncasecmp(v + i, tok, k) == 0 && (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ') &&
		    (i + k == n || v[i + k] == ',' || v[i + k] == ' ' || v[i + k] == ';'))
			return true;
	return false;
}

long rwgen_http_parse_head(const char *buf, size_t len, rwgen_http_head *out)
{
	const char *end = NULL;
	for (size_t i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
			end = buf + i + 4;
			break;
		}
	if (!end)
		return len > 65536 ? -1 : 0;
	memset(out, 0, sizeof(*out));
	out->content_length = -1;
	/* status line: HTTP/1.x SP ddd [SP reason] CRLF */
	if (end - buf < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ')
		return -1;
	bool http10 = buf[7] == '0';
	for (int k = 9; k < 12; k++)
		if (buf[k] < '0' || buf[k] > '9')
			return -1;
	if (buf[12] != ' ' && buf[12] != '\r')
		return -1;
	out->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (out->status < 100)
		return -1;
	bool keepalive = false;
	const char *line = memchr(buf, '\n', (size_t)(end - buf)) + 1;
	while (line < end - 2) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = (size_t)(nl - line);
		if (n && line[n - 1] == '\r')
			n--;
		const char *v;
		size_t vn;
		if (hdr_is(line, n, "Content-Length", &v, &vn)) {
			long long cl = 0;
			if (vn == 0 || vn > 18)
				return -1;
			for (size_t k = 0; k < vn; k++) {
				if (v[k] < '0' || v[k] > '9')
					return -1;
				cl = cl * 10 + (v[k] - '0');
			}
			out->content_length = cl;
		} else if (hdr_is(line, n, "Transfer-Encoding", &v, &vn)) {
			out->chunked = has_token(v, vn, "chunked");
		} else if (hdr_is(line, n, "Connection", &v, &vn)) {
			if (has_token(v, vn, "close"))
				out->close = true;
			if (has_token(v, vn, "keep-alive"))
				keepalive = true;
		}
		line = nl + 1;
	}
	if (http10 && !keepalive)
		out->close = true;
	return (long)(end - buf);
}

enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER, CH_TRAILER_LINE, CH_FINAL_LF };

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long rwgen_chunked_feed(rwgen_chunked *c, const char *buf, size_t len)
{
	size_t i = 0;
	while (i < len && !c->done) {
		char ch = buf[i];
		switch (c->state) {
		case CH_SIZE: {
			int h = hexval(ch);
			if (h >= 0) {
				if (c->digits >= 15)
					return -1;
				c->remaining = c->remaining * 16 + (unsigned)h;
				c->digits++;
			} else if (c->digits == 0) {
				return -1;
			} else if (ch == ';' || ch == ' ' || ch == '\t') {
				c->state = CH_EXT;
			} else if (ch == '\r') {
				c->state = CH_SIZE_LF;
			} else if (ch == '\n') {
				c->state = c->remaining ? CH_DATA : CH_TRAILER;
			} else {
				return -1;
			}
			i++;
			break;
		}
		case CH_EXT:
			if (ch == '\n')
				c->state = c->remaining ? CH_DATA : CH_TRAILER;
			i++;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return -1;
			c->state = c->remaining ? CH_DATA : CH_TRAILER;
			i++;
			break;
		case CH_DATA: {
			size_t n = len - i;
			if (n > c->remaining)
				n = (size_t)c->remaining;
			if (c->keep && c->keep_len < c->keep_cap) {
				size_t k = c->keep_cap - c->keep_len < n ? c->keep_cap - c->keep_len : n;
				memcpy(c->keep + c->keep_len, buf + i, k);
				c->keep_len += k;
			}
			c->remaining -= n;
			i += n;
			if (c->remaining == 0)
				c->state = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (ch == '\r')
				c->state = CH_DATA_LF;
			else if (ch == '\n')
				c->state = CH_SIZE, c->digits = 0;
			else
				return -1;
			i++;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return -1;
			c->state = CH_SIZE;
			c->digits = 0;
			i++;
			break;
		case CH_TRAILER:
			if (ch == '\r')
				c->state = CH_FINAL_LF;
			else if (ch == '\n')
				c->done = true;
			else
				c->state = CH_TRAILER_LINE;
			i++;
			break;
		case CH_TRAILER_LINE:
			if (ch == '\n')
				c->state = CH_TRAILER;
			i++;
			break;
		case CH_FINAL_LF:
			if (ch != '\n')
				return -1;
			c->done = true;
			i++;
			break;
		default:
			return -1;
		}
	}
	return (long)i;
}

int rwgen_parse_url(const char *url, char *host, size_t hostcap, int *port, char *path, size_t pathcap)
{
	if (strncmp(url, "http://", 7) != 0)
		return -1;
	const char *h = url + 7, *colon = strchr(h, ':'), *slash = strchr(h, '/');
	if (!colon || (slash && slash < colon) || (size_t)(colon - h) >= hostcap || colon == h)
		return -1;
	memcpy(host, h, (size_t)(colon - h));
	host[colon - h] = '\0';
	char *e;
	long p = strtol(colon + 1, &e, 10);
	if (e == colon + 1 || p <= 0 || p > 65535 || (*e && *e != '/'))
		return -1;
	*port = (int)p;
	const char *pa = *e ? e : "/";
	if (strlen(pa) >= pathcap)
		return -1;
	strcpy(path, pa);
	return 0;
}

/* ---- the connection ------------------------------------------------------------------------ */

void rwgen_conn_init(rwgen_conn *c, const char *host, int port)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->port = port;
}

void rwgen_conn_close(rwgen_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rlen = 0;
}

static int conn_open(rwgen_conn *c, char *errbuf, size_t errlen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
	const char *h = strcmp(c->host, "localhost") == 0 ? "127.0.0.1" : c->host;
	if (inet_pton(AF_INET, h, &sa.sin_addr) != 1) {
		snprintf(errbuf, errlen, "bad IPv4 address %s", c->host);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(errbuf, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	struct timeval tv = {.tv_sec = 120};
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(errbuf, errlen, "connect %s:%d: %s", c->host, c->port, strerror(errno));
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->rlen = 0;
	return 0;
}

static int send_all(int fd, const void *p, size_t n, int flags)
{
	const char *s = p;
	while (n) {
		ssize_t k = send(fd, s, n, flags | MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

/* recv more bytes into rbuf; returns bytes read, 0 on EOF, -1 on error */
static ssize_t fill(rwgen_conn *c)
{
	if (c->rlen >= sizeof(c->rbuf))
		return -1;
	for (;;) {
		ssize_t k = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k > 0)
			c->rlen += (size_t)k;
		return k;
	}
}

static void consume(rwgen_conn *c, size_t n)
{
	memmove(c->rbuf, c->rbuf + n, c->rlen - n);
	c->rlen -= n;
}

static void keep_body(rwgen_conn *c, size_t *kept, const char *p, size_t n)
{
	size_t room = sizeof(c->last_body) - 1 - *kept;
	if (n > room)
		n = room;
	memcpy(c->last_body + *kept, p, n);
	*kept += n;
	c->last_body[*kept] = '\0';
}

/* One attempt. Returns status, -1 on error, -2 if the peer closed before any response byte. */
static int post_once(rwgen_conn *c, const char *path, const uint8_t *body, size_t len, char *errbuf, size_t errlen)
{
	char head[512];
	int hn = snprintf(head, sizeof(head),
	                  "POST %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: slod-rwgen/0.1\r\n"
	                  "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
	                  "X-Prometheus-Remote-Write-Version: 0.1.0\r\nContent-Length: %zu\r\n\r\n",
	                  path, c->host, c->port, len);
	if (hn < 0 || (size_t)hn >= sizeof(head)) {
		snprintf(errbuf, errlen, "request head too long");
		return -1;
	}
	if (send_all(c->fd, head, (size_t)hn, MSG_MORE) != 0 || send_all(c->fd, body, len, 0) != 0) {
		int e = errno;
		snprintf(errbuf, errlen, "send: %s", strerror(e));
		return (e == EPIPE || e == ECONNRESET) ? -2 : -1;
	}
	rwgen_http_head h;
	long hl;
	bool any = c->rlen > 0;
	for (;;) {
		hl = rwgen_http_parse_head(c->rbuf, c->rlen, &h);
		if (hl < 0) {
			snprintf(errbuf, errlen, "malformed response head");
			return -1;
		}
		if (hl > 0 && h.status >= 200)
			break;
		if (hl > 0) { /* 1xx: skip and read the next head */
			consume(c, (size_t)hl);
			continue;
		}
		ssize_t k = fill(c);
		if (k <= 0) {
			int e = errno;
			snprintf(errbuf, errlen, "recv: %s", k == 0 ? "connection closed" : strerror(e));
			return (!any && (k == 0 || e == ECONNRESET)) ? -2 : -1;
		}
		any = true;
	}
	consume(c, (size_t)hl);
	size_t kept = 0;
	c->last_body[0] = '\0';
	bool nobody = h.status == 204 || h.status == 304;
	if (nobody) {
		/* nothing */
	} else if (h.chunked) {
		rwgen_chunked ch = {.keep = c->last_body, .keep_cap = sizeof(c->last_body) - 1};
		for (;;) {
			long used = rwgen_chunked_feed(&ch, c->rbuf, c->rlen);
			if (used < 0) {
				snprintf(errbuf, errlen, "malformed chunked body");
				return -1;
			}
			consume(c, (size_t)used);
			if (ch.done)
				break;
			if (fill(c) <= 0) {
				snprintf(errbuf, errlen, "connection lost in chunked body");
				return -1;
			}
		}
		c->last_body[ch.keep_len] = '\0';
	} else if (h.content_length >= 0) {
		unsigned long long left = (unsigned long long)h.content_length;
		while (left) {
			if (c->rlen == 0 && fill(c) <= 0) {
				snprintf(errbuf, errlen, "connection lost in body");
				return -1;
			}
			size_t n = c->rlen < left ? c->rlen : (size_t)left;
			keep_body(c, &kept, c->rbuf, n);
			consume(c, n);
			left -= n;
		}
	} else {
		h.close = true; /* body runs to EOF */
		for (;;) {
			keep_body(c, &kept, c->rbuf, c->rlen);
			c->rlen = 0;
			ssize_t k = fill(c);
			if (k == 0)
				break;
			if (k < 0) {
				snprintf(errbuf, errlen, "recv: %s", strerror(errno));
				return -1;
			}
		}
	}
	if (h.close)
		rwgen_conn_close(c);
	return h.status;
}

int rwgen_conn_post(rwgen_conn *c, const char *path, const uint8_t *body, size_t len, char *errbuf, size_t errlen)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		bool reused = c->fd >= 0;
		if (!reused && conn_open(c, errbuf, errlen) != 0)
			return -1;
		int st = post_once(c, path, body, len, errbuf, errlen);
		if (st >= 100)
			return st;
		rwgen_conn_close(c);
		if (st == -1 || !reused)
			return -1;
		/* -2 on a reused connection: the peer closed it while idle; retry once on a new one */
	}
	return -1;
}
