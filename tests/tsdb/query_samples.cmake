# tsdb_querier_samples (tsdb/head.c) over sealed chunks, the open chunk and out-of-order samples.
slod_unit_test(tsdb.query_samples SOURCES test_query_samples.c DEPS slod_tsdb TIMEOUT 120)
