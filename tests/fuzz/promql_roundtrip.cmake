# promql: parse -> print -> parse round-trip fuzz target (replayed by CTest as fuzz.promql_roundtrip).
slod_fuzz_target(promql_roundtrip SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_promql_roundtrip.c DEPS slod_promql)
