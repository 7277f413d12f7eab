/*
 * assets.c — lookup over the embedded web assets (see assets.h). O(assets) per lookup; there are 5.
 */
#include "web/assets.h"

#include <string.h>

const web_asset *web_asset_find(const char *path)
{
	if (strcmp(path, "/") == 0 || strncmp(path, "/slos/", 6) == 0 || strcmp(path, "/slos") == 0)
		path = "/ui/index.html";
	for (const web_asset *a = web_assets; a->path; a++)
		if (strcmp(a->path, path) == 0)
			return a;
	return NULL;
}
