# promql.torture: parser and engine under a fault-injecting allocator (the Nth malloc fails).
slod_unit_test(promql.torture SOURCES test_torture.c ${CMAKE_SOURCE_DIR}/tests/util/test_torture_alloc.c
               DEPS slod_promql slod_tsdb slod_util TIMEOUT 300)
target_include_directories(test_promql_torture PRIVATE ${CMAKE_SOURCE_DIR}/tests/util)
target_link_options(test_promql_torture PRIVATE -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc)
