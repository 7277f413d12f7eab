# integration.prometheus_remote_write: a real Prometheus scrapes itself and slod, remote-writes
# into slod; series, labels and raw samples must agree (owner: api).
if(TARGET slod)
  find_package(Python3 COMPONENTS Interpreter)
  find_program(SLOD_PROMETHEUS prometheus PATHS /usr/bin)
  if(Python3_Interpreter_FOUND AND SLOD_PROMETHEUS)
    add_test(NAME integration.prometheus_remote_write
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_prometheus_rw.py
                     $<TARGET_FILE:slod> ${SLOD_PROMETHEUS})
    set_tests_properties(integration.prometheus_remote_write PROPERTIES TIMEOUT 180 LABELS integration)
  endif()
endif()
