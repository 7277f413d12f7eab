# promql: evaluator fuzz target (owner: engine); its corpus is replayed by CTest as fuzz.promql_eval.
slod_fuzz_target(promql_eval SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_promql_eval.c DEPS slod_promql slod_tsdb slod_util)
