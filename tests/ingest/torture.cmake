# ingest.torture: remote write and text import under a fault-injecting allocator (the Nth malloc fails).
slod_unit_test(ingest.torture SOURCES test_torture.c ${CMAKE_SOURCE_DIR}/tests/util/test_torture_alloc.c
               DEPS slod_ingest slod_tsdb slod_util TIMEOUT 300)
target_include_directories(test_ingest_torture PRIVATE ${CMAKE_SOURCE_DIR}/tests/util)
target_link_options(test_ingest_torture PRIVATE -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc)
