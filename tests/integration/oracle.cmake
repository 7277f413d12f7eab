# integration.oracle: a real Prometheus evaluating the rules `slod generate` exports on the same
# backfilled samples agrees with slod's recorded SLO windows and /api/v1/slos to 1e-9 (owner: deliver).
if(TARGET slod)
  find_package(Python3 COMPONENTS Interpreter)
  find_program(SLOD_PROMETHEUS prometheus PATHS /usr/bin)
  find_program(SLOD_PROMTOOL promtool PATHS /usr/bin)
  if(Python3_Interpreter_FOUND AND SLOD_PROMETHEUS AND SLOD_PROMTOOL)
    add_test(NAME integration.oracle
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_oracle.py
                     $<TARGET_FILE:slod> ${SLOD_PROMETHEUS} ${SLOD_PROMTOOL})
    set_tests_properties(integration.oracle PROPERTIES TIMEOUT 180 LABELS integration)
  endif()
endif()
