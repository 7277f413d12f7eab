# ingest.rw_batch: remote-write 1.0 requests longer than one append batch (ingest/remote_write.c
# batches series to prefetch their label-map slots): order-dependent outcomes must be those of
# appending one series at a time.
slod_unit_test(ingest.rw_batch
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_rw_batch.c ${CMAKE_CURRENT_SOURCE_DIR}/ingest_test_util.c
  DEPS slod_ingest slod_tsdb slod_util)
