# slo.torture: SLO spec load/validate/generate under a fault-injecting allocator (the Nth malloc fails).
slod_unit_test(slo.torture SOURCES test_torture.c ${CMAKE_SOURCE_DIR}/tests/util/test_torture_alloc.c
               DEPS slod_slo TIMEOUT 300)
target_include_directories(test_slo_torture PRIVATE ${CMAKE_SOURCE_DIR}/tests/util)
target_link_options(test_slo_torture PRIVATE -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc)
