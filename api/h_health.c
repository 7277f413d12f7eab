/*
 * h_health.c — GET /-/healthy (always 200 while the process serves HTTP), GET /-/ready (503 until
 * the storage has replayed its WAL and the backend is published, then 200) and POST /-/reload.
 * Bodies match Prometheus's plain-text answers.
 */
#include "api/internal.h"

void api__h_healthy(api_req *r)
{
	api__reply_text(r, 200, "slod is Healthy.");
}

void api__h_ready(api_req *r)
{
	if (atomic_load_explicit(&r->srv->ready, memory_order_acquire))
		api__reply_text(r, 200, "slod is Ready.");
	else
		api__reply_text(r, 503, "Service Unavailable");
}

/* POST|PUT /-/reload: asks main to re-read the config file, SLO specs and rule files (see
 * api_options.reload). 200 with an empty body on success; 500 with the reason otherwise (the old
 * configuration keeps running); 403 when the server was started without a reload hook. */
void api__h_reload(api_req *r)
{
	api_server *s = r->srv;
	if (!s->opt.reload) {
		api__reply_text(r, 403, "Lifecycle API is not enabled.");
		return;
	}
	char err[1024] = "";
	if (s->opt.reload(s->opt.reload_ud, err, sizeof err) != 0) {
		api__reply_text(r, 500, "failed to reload config: %s", err[0] ? err : "unknown error");
		return;
	}
	api__reply_empty(r, 200);
}
