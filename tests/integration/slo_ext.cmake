# integration.slo_ext: the real slod with SLOs using slod's extensions (calendar period, min_events,
# per-tier for, latency SLI): /api/v1/slos fields and event counts, /api/v1/rules (owner: slo).
if(TARGET slod)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    add_test(NAME integration.slo_ext
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_slo_ext.py $<TARGET_FILE:slod>)
    set_tests_properties(integration.slo_ext PROPERTIES TIMEOUT 120 LABELS integration)
  endif()
endif()
