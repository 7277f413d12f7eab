/*
 * assets.h — the web page files (index.html, app.js, app.css under web/) and the Grafana dashboards
 * (examples/grafana/ JSON files, as /ui/grafana/<file>), embedded into the binary at build time by
 * cmake/embed.cmake so slod serves its page without files or network at run time. Each asset's
 * data is NUL-terminated (data[len] == 0), so text assets can be used as C strings.
 */
#ifndef SLOD_WEB_ASSETS_H
#define SLOD_WEB_ASSETS_H

#include <stddef.h>

typedef struct web_asset {
	const char *path;           /* URL path, e.g. "/ui/app.js" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
} web_asset;

/* Terminated by an entry with path == NULL. */
extern const web_asset web_assets[];

/* The asset for a URL path, or NULL. "/" and "/slos/..." map to the page itself. */
const web_asset *web_asset_find(const char *path);

#endif
