/*
 * serve.h — `slod serve`: wires storage, HTTP API and background maintenance, then waits for
 * SIGTERM/SIGINT and shuts down gracefully.
 */
#ifndef SLOD_MAIN_SERVE_H
#define SLOD_MAIN_SERVE_H

#include "main/settings.h"

/* Runs the server until SIGTERM or SIGINT; SIGHUP reloads SLO specs and rule files. s holds the
 * effective settings (flags over config file), flags_only the command-line settings alone (a
 * reload re-reads the config file over them). Returns the process exit code (0 after a clean
 * shutdown, 1 when startup fails). Must be called from the main thread before any other thread
 * exists (it blocks the signals it waits for). */
int main_serve(const main_settings *s, const main_settings *flags_only, const char *version);

#endif
