/*
 * fuzz_replay.c — a main() for libFuzzer targets in ordinary builds: feeds every file under the
 * given directories (recursively) to LLVMFuzzerTestOneInput once, so committed corpora are
 * replayed by CTest under gcc and under the ASan+UBSan build. Prints "N passed, 0 failed".
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long replay_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "fuzz_replay: cannot stat %s\n", path);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		long total = 0;
		if (!d)
			return -1;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char sub[4096];
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			long n = replay_path(sub);
			if (n < 0) {
				closedir(d);
				return -1;
			}
			total += n;
		}
		closedir(d);
		return total;
	}
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	uint8_t *data = malloc((size_t)st.st_size + 1);
	size_t n = data ? fread(data, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	if (!data)
		return -1;
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 1;
}

int main(int argc, char **argv)
{
	long total = 0;
	for (int i = 1; i < argc; i++) {
		long n = replay_path(argv[i]);
		if (n < 0)
			return 1;
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "fuzz_replay: empty corpus\n");
		return 1;
	}
	printf("%ld passed, 0 failed\n", total);
	return 0;
}
