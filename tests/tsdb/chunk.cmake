slod_unit_test(tsdb.chunk SOURCES test_chunk.c DEPS slod_tsdb)
