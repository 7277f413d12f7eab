# slo.eval: the live SLO engine (slo/eval.c) driven by a manual clock against hand-computed numbers.
slod_unit_test(slo.eval SOURCES test_eval.c DEPS slod_slo slod_rules slod_promql slod_tsdb LABEL integration TIMEOUT 300)
