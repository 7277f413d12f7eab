# promql.extrapolate: promql_extrapolate() (promql/extrapolate.c) on hand-computed Prometheus cases.
slod_unit_test(promql.extrapolate SOURCES test_extrapolate.c DEPS slod_promql)
