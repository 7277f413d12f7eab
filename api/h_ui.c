/*
 * h_ui.c — GET / , /slos, /slos/<id> and /ui/<file>: the embedded SLO web page (web/assets.h).
 * The page's files are compiled into the binary; unknown /ui/ files answer 404. Assets are
 * static, so they are sent with a short cache lifetime only through the browser's heuristics
 * (no cache headers: the page must pick up a new binary's assets on reload).
 */
#include "api/internal.h"

#include "web/assets.h"

void api__h_ui(api_req *r)
{
	const web_asset *a = web_asset_find(r->path);
	if (!a) {
		api__reply_text(r, 404, "404 page not found");
		return;
	}
	api__reply_raw(r, 200, a->content_type, (const char *)a->data, a->len);
}
