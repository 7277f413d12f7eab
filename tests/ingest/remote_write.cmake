# ingest.remote_write: remote-write 1.0 requests (generated encoder + snappy) into an in-memory tsdb.
slod_unit_test(ingest.remote_write
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_remote_write.c ${CMAKE_CURRENT_SOURCE_DIR}/ingest_test_util.c
  DEPS slod_ingest slod_tsdb slod_util)
