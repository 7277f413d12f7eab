/*
 * fuzz_tsdb_wal.c — opens a tsdb whose data directory holds fuzzer-made files, then queries and
 * closes it. Open must never crash or read out of bounds whatever the files contain.
 *
 * Input: data[0] % 3 selects what data[1..] becomes:
 *   0  the raw bytes of WAL segment 00000000 (exercises framing, torn tails, CRC checks);
 *   1  a WAL segment whose records the harness frames with correct lengths and CRCs, from
 *      [u8 type][u16 LE len][len bytes] items (exercises the SERIES/SAMPLES payload parsers);
 *   2  the body of snapshot.00000000 after its magic; the harness adds the magic and a correct
 *      CRC (exercises the snapshot parser past its checksum).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsdb/tsdb.h"
#include "tsdb/tsdb_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_file(const char *path, const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	if (na && fwrite(a, 1, na, f) != na)
		abort();
	if (nb && fwrite(b, 1, nb, f) != nb)
		abort();
	fclose(f);
}

/* Removes every file in dir and dir/wal (no recursion needed). */
static void clean_one(const char *d)
{
	DIR *dp = opendir(d);
	if (!dp)
		return;
	struct dirent *e;
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "wal") == 0)
			continue;
		char p[600];
		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		unlink(p);
	}
	closedir(dp);
}

static void clean(const char *dir)
{
	char wal[300];
	snprintf(wal, sizeof(wal), "%s/wal", dir);
	clean_one(wal);
	clean_one(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[256];
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/slod-fuzz-tsdb-XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	if (size < 1 || size > (1u << 20))
		return 0;
	clean(dir);
	char wal[300], path[400];
	snprintf(wal, sizeof(wal), "%s/wal", dir);
	mkdir(wal, 0755);
	int mode = data[0] % 3;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	if (mode == 0) {
		snprintf(path, sizeof(path), "%s/00000000", wal);
		put_file(path, p, n, NULL, 0);
	} else if (mode == 1) {
		uint8_t *seg = malloc(8 + n * 4 + 16);
		size_t len = 8;
		memcpy(seg, "SLODWAL1", 8);
		size_t i = 0;
		while (i + 3 <= n) {
			uint8_t type = p[i];
			size_t l = (size_t)p[i + 1] | (size_t)p[i + 2] << 8;
			i += 3;
			if (l > n - i)
				l = n - i;
			uint8_t *rec = seg + len;
			rec[8] = type;
			memcpy(rec + 9, p + i, l);
			uint32_t L = (uint32_t)l + 1, crc = tsdb__crc32c(0, rec + 8, L);
			memcpy(rec, &L, 4);
			memcpy(rec + 4, &crc, 4);
			len += 8 + L;
			i += l;
		}
		snprintf(path, sizeof(path), "%s/00000000", wal);
		put_file(path, seg, len, NULL, 0);
		free(seg);
	} else {
		uint8_t *f = malloc(8 + n + 4);
		memcpy(f, "SLODSNP1", 8);
		memcpy(f + 8, p, n);
		uint32_t crc = tsdb__crc32c(0, f, 8 + n);
		memcpy(f + 8 + n, &crc, 4);
		snprintf(path, sizeof(path), "%s/snapshot.00000000", dir);
		put_file(path, f, 8 + n + 4, NULL, 0);
		free(f);
	}
	tsdb_options o;
	tsdb_options_default(&o);
	o.dir = dir;
	o.fsync_policy = TSDB_FSYNC_NEVER;
	o.retention_ms = 0;
	o.ooo_window_ms = 1000;
	tsdb *db = NULL;
	char err[256];
	if (tsdb_open(&o, &db, err, sizeof(err)) != 0)
		return 0;
	tsdb_querier *q = tsdb_querier_open(db, INT64_MIN, INT64_MAX);
	tsdb_series *ss;
	size_t ns;
	tsdb_sample *sb = NULL;
	size_t cap = 0;
	if (tsdb_querier_select(q, NULL, 0, &ss, &ns) == 0) {
		for (size_t i = 0; i < ns && i < 1000; i++)
			(void)tsdb_querier_samples(q, ss[i].ref, INT64_MIN, INT64_MAX, &sb, &cap);
	}
	const char **names;
	(void)tsdb_querier_label_names(q, NULL, 0, &names, &ns);
	tsdb_querier_close(q);
	free(sb);
	/* appending after a replay must work too (resumed open chunks) */
	tsdb_appender *a = tsdb_appender_new(db);
	for (uint64_t r = 1; r < 50; r++)
		(void)tsdb_appender_add_ref(a, r, INT64_MAX - 1000 + (int64_t)r, 1.0);
	(void)tsdb_appender_commit(a);
	tsdb_appender_free(a);
	tsdb_close(db);
	return 0;
}
