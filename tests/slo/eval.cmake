# slo.eval: the live SLO engine (slo/eval.c) driven by a manual clock against hand-computed numbers.
slod_unit_test(slo.eval SOURCES test_eval.c DEPS slod_slo slod_rules slod_promql slod_tsdb LABEL integration TIMEOUT 300)
# slo.eval_promtool: the same window ratios computed by real Prometheus (promtool test rules).
find_program(SLO_PROMTOOL promtool)
add_executable(slo_oracle_fast oracle_fast.c)
target_link_libraries(slo_oracle_fast PRIVATE slod_slo slod_rules slod_promql slod_tsdb slod_warnings slod_sanitize)
if(SLO_PROMTOOL)
  add_test(NAME slo.eval_promtool COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/oracle_promtool.py
           $<TARGET_FILE:slo_oracle_fast> ${SLO_PROMTOOL})
  set_tests_properties(slo.eval_promtool PROPERTIES TIMEOUT 300 LABELS integration)
endif()
