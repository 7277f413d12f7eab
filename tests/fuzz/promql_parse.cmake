# promql: parser fuzz target (corpus replayed by CTest as fuzz.promql_parse).
slod_fuzz_target(promql_parse SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_promql_parse.c DEPS slod_promql)
