/*
 * slo_cli_main.c — a tiny stand-in for `slod validate|generate` used by the promtool integration
 * test, so the test does not depend on how main/ wires the subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "slo/slo_cli.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "generate") == 0)
		return slo_cli_generate(argc - 1, argv + 1, stdout, stderr);
	if (argc > 1 && strcmp(argv[1], "validate") == 0)
		return slo_cli_validate(argc - 1, argv + 1, stdout, stderr);
	fprintf(stderr, "usage: %s validate|generate ...\n", argv[0]);
	return 2;
}
