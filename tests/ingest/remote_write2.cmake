# ingest.remote_write2: remote-write 2.0 requests (generated write_v2 encoder + snappy) into an in-memory tsdb.
slod_unit_test(ingest.remote_write2
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_remote_write2.c ${CMAKE_CURRENT_SOURCE_DIR}/rw2_test_util.c
          ${CMAKE_CURRENT_SOURCE_DIR}/ingest_test_util.c
  DEPS slod_ingest slod_tsdb slod_util)
