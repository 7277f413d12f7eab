# integration.promql_diff: seeded random PromQL queries on a seeded data set agree between slod and a
# real Prometheus 2.42 (backfilled with promtool), instant and range (owner: pdiff).
if(TARGET slod)
  find_package(Python3 COMPONENTS Interpreter)
  find_program(SLOD_PROMETHEUS prometheus PATHS /usr/bin)
  find_program(SLOD_PROMTOOL promtool PATHS /usr/bin)
  if(Python3_Interpreter_FOUND AND SLOD_PROMETHEUS AND SLOD_PROMTOOL)
    add_test(NAME integration.promql_diff
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_promql_diff.py
                     $<TARGET_FILE:slod> ${SLOD_PROMETHEUS} ${SLOD_PROMTOOL})
    set_tests_properties(integration.promql_diff PROPERTIES TIMEOUT 120 LABELS integration)
  endif()
endif()
