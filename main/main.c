/*
 * main.c — the slod binary: subcommand dispatch and exit codes.
 *
 *   slod [serve] [flags]      run the server (default)
 *   slod validate ...         slo_cli_validate (when the slo module is built)
 *   slod generate ...         slo_cli_generate
 *   slod grafana-dashboard    main_cmd_grafana (the Grafana dashboards of examples/grafana/)
 *   slod --help | --version
 * Exit codes: 0 success, 1 runtime failure, 2 usage error (unknown flag, bad value).
 */
#include <stdio.h>
#include <string.h>

#include "main/cmd_grafana.h"
#include "main/serve.h"
#include "main/settings.h"

#ifdef SLOD_HAVE_SLO_CLI
#include "slo/slo_cli.h"
#endif

#ifndef SLOD_VERSION
#define SLOD_VERSION "0.0.0"
#endif

int main(int argc, char **argv)
{
	int first = 1;
	const char *cmd = "serve";
	if (argc > 1 && argv[1][0] != '-') {
		cmd = argv[1];
		first = 2;
	}
	if (strcmp(cmd, "validate") == 0 || strcmp(cmd, "generate") == 0) {
#ifdef SLOD_HAVE_SLO_CLI
		if (strcmp(cmd, "validate") == 0)
			return slo_cli_validate(argc - 1, argv + 1, stdout, stderr);
		return slo_cli_generate(argc - 1, argv + 1, stdout, stderr);
#else
		fprintf(stderr, "slod: '%s' is not available in this build (slo module missing)\n", cmd);
		return 1;
#endif
	}
	if (strcmp(cmd, "grafana-dashboard") == 0)
		return main_cmd_grafana(argc - 1, argv + 1, stdout, stderr);
	if (strcmp(cmd, "version") == 0) {
		printf("slod version %s\n", SLOD_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (strcmp(cmd, "serve") != 0) {
		fprintf(stderr, "slod: unknown command \"%s\"\n\n%s", cmd, main_usage);
		return 2;
	}
	main_settings s;
	main_settings_default(&s);
	char err[512];
	int rc = main_flags_parse(argc - first, argv + first, &s, err, sizeof err);
	if (rc == MAIN_FLAGS_HELP) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (rc == MAIN_FLAGS_VERSION) {
		printf("slod version %s\n", SLOD_VERSION);
		return 0;
	}
	if (rc != 0) {
		fprintf(stderr, "slod: %s\n\n%s", err, main_usage);
		return 2;
	}
	main_settings flags_only = s;
	if (s.config_file[0] && main_config_load(s.config_file, &s, err, sizeof err) != 0) {
		fprintf(stderr, "slod: %s\n", err);
		return 2;
	}
	return main_serve(&s, &flags_only, SLOD_VERSION);
}
