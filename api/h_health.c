/*
 * h_health.c — GET /-/healthy (always 200 while the process serves HTTP) and GET /-/ready (503 until
 * the storage has replayed its WAL and the backend is published, then 200). Bodies match Prometheus's
 * plain-text answers.
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
