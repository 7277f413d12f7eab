/*
 * sender.c — HTTP delivery with libcurl (private to this module) and the optional HMAC-SHA256
 * signature header (OpenSSL's libcrypto).
 *
 * Each target owns one CURL easy handle reused across requests (keep-alive); only the delivering
 * thread (serialised by alerting.process_mu) touches it.
 */
#include <curl/curl.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerting/alerting_int.h"

int alerting_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void alerting_global_cleanup(void)
{
	curl_global_cleanup();
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int alert__target_init(alert__target *t, const alerting_target_config *cfg, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (!cfg->name || !cfg->url || strncmp(cfg->url, "http", 4) != 0) {
		snprintf(err, errlen, "alerting target %s: a name and an http(s) URL are required",
			 cfg->name ? cfg->name : "(unnamed)");
		return -1;
	}
	t->cfg = *cfg;
	t->cfg.name = dup_or_null(cfg->name);
	t->cfg.url = dup_or_null(cfg->url);
	t->cfg.hmac_secret = dup_or_null(cfg->hmac_secret);
	if (cfg->group_by) {
		t->group_by_owned = calloc(cfg->n_group_by + 1, sizeof(char *));
		if (!t->group_by_owned)
			goto oom;
		for (size_t i = 0; i < cfg->n_group_by; i++)
			if (!(t->group_by_owned[i] = strdup(cfg->group_by[i])))
				goto oom;
		t->cfg.group_by = (const char *const *)t->group_by_owned;
	}
	if (!t->cfg.name || !t->cfg.url || (cfg->hmac_secret && !t->cfg.hmac_secret))
		goto oom;
	t->curl = curl_easy_init();
	if (!t->curl)
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	alert__target_deinit(t);
	return -1;
}

void alert__target_deinit(alert__target *t)
{
	free((char *)t->cfg.name);
	free((char *)t->cfg.url);
	free((char *)t->cfg.hmac_secret);
	if (t->group_by_owned) {
		for (size_t i = 0; t->group_by_owned[i]; i++)
			free(t->group_by_owned[i]);
		free(t->group_by_owned);
	}
	free(t->persisted);
	t->persisted = NULL;
	if (t->curl)
		curl_easy_cleanup(t->curl);
	t->curl = NULL;
}

static size_t discard_body(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

int alert__http_post(alerting *a, alert__target *t, uint64_t id, const char *body, size_t len, char *err,
		     size_t errlen)
{
	CURL *c = t->curl;
	char url[2048], hdr_id[64], hdr_sig[160];
	struct curl_slist *hdrs = NULL;
	long status = 0;
	(void)a;
	if (t->cfg.kind == ALERTING_ALERTMANAGER) {
		size_t ul = strlen(t->cfg.url);
		snprintf(url, sizeof url, "%.*s/api/v2/alerts", (int)(ul && t->cfg.url[ul - 1] == '/' ? ul - 1 : ul),
			 t->cfg.url);
	} else {
		snprintf(url, sizeof url, "%s", t->cfg.url);
	}
	snprintf(hdr_id, sizeof hdr_id, "X-Slod-Notification-Id: %s-%llu", t->cfg.name, (unsigned long long)id);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, hdr_id);
	if (t->cfg.hmac_secret) {
		unsigned char mac[32];
		unsigned int maclen = 0;
		HMAC(EVP_sha256(), t->cfg.hmac_secret, (int)strlen(t->cfg.hmac_secret), (const unsigned char *)body,
		     len, mac, &maclen);
		int k = snprintf(hdr_sig, sizeof hdr_sig, "X-Slod-Signature: sha256=");
		for (unsigned i = 0; i < maclen; i++)
			k += snprintf(hdr_sig + k, sizeof hdr_sig - (size_t)k, "%02x", mac[i]);
		hdrs = curl_slist_append(hdrs, hdr_sig);
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(t->cfg.timeout_ms ? t->cfg.timeout_ms : 10000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "slod-alerting/0.1");
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
		status = 0;
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (status < 200 || status >= 300)
			snprintf(err, errlen, "HTTP %ld", status);
	}
	curl_slist_free_all(hdrs);
	return (int)status;
}
