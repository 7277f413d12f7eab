/*
 * examples.h — the example SLO specs (every .yaml file in examples/slos) compiled into the binary
 * by main/embed_examples.cmake, so `slod serve` without --slo.files shows working SLOs.
 */
#ifndef SLOD_MAIN_EXAMPLES_H
#define SLOD_MAIN_EXAMPLES_H

#include <stddef.h>

typedef struct main_example {
	const char *name;   /* "examples/slos/x.yaml" (for diagnostics) */
	const char *data;   /* NUL-terminated */
	size_t len;
} main_example;

/* Terminated by an entry with name == NULL. */
extern const main_example main_examples[];

#endif
