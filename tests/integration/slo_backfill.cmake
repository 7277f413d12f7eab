# integration.slo_backfill: the real slod with examples/slos; a week of counters imported into the
# past after start reaches /api/v1/slos (exact budget, event counts of rate and increase SLIs) and
# the history within a few cycles, without a reload (owner: slo eval).
if(TARGET slod)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    add_test(NAME integration.slo_backfill
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_slo_backfill.py $<TARGET_FILE:slod>
                     ${PROJECT_SOURCE_DIR}/examples/slos)
    set_tests_properties(integration.slo_backfill PROPERTIES TIMEOUT 180 LABELS integration)
  endif()
endif()
