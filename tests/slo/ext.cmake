# slo.ext: slod's extensions of Sloth specs (latency SLIs, periods, min events, per-tier config).
slod_unit_test(slo.ext SOURCES test_ext.c DEPS slod_slo)
# slo.ext_promtool: promtool check rules on what the extensions generate (tests/slo/ext/*.yaml).
add_executable(slo_ext_cli slo_cli_main.c)
target_link_libraries(slo_ext_cli PRIVATE slod_slo slod_warnings slod_sanitize)
find_program(SLO_EXT_PROMTOOL promtool)
if(SLO_EXT_PROMTOOL)
  add_test(NAME slo.ext_promtool COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/ext_promtool.sh
           $<TARGET_FILE:slo_ext_cli> ${CMAKE_CURRENT_SOURCE_DIR}/ext)
  set_tests_properties(slo.ext_promtool PROPERTIES TIMEOUT 120 LABELS integration)
endif()
# slo.eval_ext: the live engine with calendar periods and min_events (hand-computed budgets).
slod_unit_test(slo.eval_ext SOURCES test_eval_ext.c DEPS slod_slo slod_rules slod_promql slod_tsdb LABEL integration TIMEOUT 120)
