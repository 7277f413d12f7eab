# integration.federate: a real Prometheus scrapes slod's /federate (owner: api).
if(TARGET slod)
  find_package(Python3 COMPONENTS Interpreter)
  find_program(SLOD_PROMETHEUS prometheus PATHS /usr/bin)
  if(Python3_Interpreter_FOUND AND SLOD_PROMETHEUS)
    add_test(NAME integration.federate
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_federate.py $<TARGET_FILE:slod> ${SLOD_PROMETHEUS})
    set_tests_properties(integration.federate PROPERTIES TIMEOUT 120 LABELS integration)
  endif()
endif()
