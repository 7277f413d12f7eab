# promql.engine: evaluator semantics on small hand-written data (tests/promql/test_engine.c).
slod_unit_test(promql.engine SOURCES test_engine.c DEPS slod_promql slod_tsdb slod_util)
