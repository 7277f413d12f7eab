/*
 * slo_cli.h — the `slod validate` and `slod generate` subcommands (Sloth-compatible flags), for
 * main/ to dispatch to. argv[0] is the subcommand name ("validate" / "generate"); out receives the
 * generated rules (stdout mode) and summaries, err receives diagnostics and usage errors.
 *
 *   slod validate -i PATH [--default-slo-period 30d] [--slo-period-windows-path DIR]
 *                 [--ignore-slo-duplicates] [-e|--fs-exclude REGEX] [-n|--fs-include REGEX]
 *   slod generate -i PATH [-o PATH] [--default-slo-period 30d] [--slo-period-windows-path DIR]
 *                 [-l k=v ...] [--extra-labels k=v] [--disable-alerts] [--disable-recordings]
 *                 [--output-format prometheus|prometheus-operator] [-e REGEX] [-n REGEX]
 * Flags also accept the --flag=value form. A directory input is read recursively (*.yaml, *.yml);
 * with generate, the output must then be a directory and gets one file per input file.
 *
 * Exit codes: 0 valid / generated, 1 invalid input (diagnostics printed as file:line:column:
 * message), 2 usage or I/O error.
 */
#ifndef SLOD_SLO_CLI_H
#define SLOD_SLO_CLI_H

#include <stdio.h>

int slo_cli_validate(int argc, char **argv, FILE *out, FILE *err);
int slo_cli_generate(int argc, char **argv, FILE *out, FILE *err);

#endif
