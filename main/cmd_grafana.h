/*
 * cmd_grafana.h — `slod grafana-dashboard` (main/cmd_grafana.c): the Grafana dashboards of
 * examples/grafana/, embedded in the binary (web/assets.h), written out for import.
 */
#ifndef SLOD_MAIN_CMD_GRAFANA_H
#define SLOD_MAIN_CMD_GRAFANA_H

#include <stdio.h>

/* argv[0] is "grafana-dashboard"; out receives a dashboard (stdout mode) or the paths written,
 * err receives usage and I/O errors. Returns 0, 1 (I/O failure) or 2 (usage error). */
int main_cmd_grafana(int argc, char **argv, FILE *out, FILE *err);

#endif
