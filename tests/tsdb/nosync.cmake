slod_unit_test(tsdb.nosync SOURCES test_nosync.c DEPS slod_tsdb)
