# slo.eval_boot: the engine's bounded start-up rebuild (rebuild_slice_ms) computes the same values as
# an unsliced rebuild, and respects its bounds (slo_engine_get_stats).
slod_unit_test(slo.eval_boot SOURCES test_eval_boot.c DEPS slod_slo slod_rules slod_promql slod_tsdb LABEL integration TIMEOUT 300)
