/* chunk.c — placeholder until the XOR codec lands (being written now). */
#include "tsdb/chunk.h"

#include <string.h>

void tsdb__chunk_app_init(tsdb__chunk_app *a, uint8_t *data, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->data = data;
	a->cap = cap;
}
