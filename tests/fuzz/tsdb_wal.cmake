# tsdb: WAL replay and snapshot loading from fuzzer-made data directories (owner: tsdb).
slod_fuzz_target(tsdb_wal SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_tsdb_wal.c DEPS slod_tsdb)
