# integration.hostile_http: hostile requests against every route (owner: harden). Compares a few
# error answers with a real Prometheus 2.42 when /usr/bin/prometheus is installed.
if(TARGET slod)
  find_package(Python3 COMPONENTS Interpreter)
  find_program(SLOD_PROMETHEUS prometheus PATHS /usr/bin)
  if(Python3_Interpreter_FOUND)
    set(_hostile_prom "")
    if(SLOD_PROMETHEUS)
      set(_hostile_prom ${SLOD_PROMETHEUS})
    endif()
    add_test(NAME integration.hostile_http
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_hostile_http.py $<TARGET_FILE:slod> ${_hostile_prom})
    set_tests_properties(integration.hostile_http PROPERTIES TIMEOUT 180 LABELS integration)
  endif()
endif()
