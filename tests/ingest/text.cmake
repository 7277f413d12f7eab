# ingest.text: Prometheus text exposition format import into an in-memory tsdb.
slod_unit_test(ingest.text
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_text.c ${CMAKE_CURRENT_SOURCE_DIR}/ingest_test_util.c
  DEPS slod_ingest slod_tsdb slod_util)
