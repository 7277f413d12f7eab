# integration.slo_alerting: SLO spec -> rules -> evaluation -> /api/v1/slos, alerts, webhook (owner: api/main).
if(TARGET slod)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    add_test(NAME integration.slo_alerting
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_slo_alerting.py $<TARGET_FILE:slod>)
    set_tests_properties(integration.slo_alerting PROPERTIES TIMEOUT 120 LABELS integration)
  endif()
endif()
