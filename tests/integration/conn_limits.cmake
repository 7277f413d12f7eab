# integration.conn_limits: --web.max-connections and --web.max-connections-per-ip (owner: api).
if(TARGET slod)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    add_test(NAME integration.conn_limits
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_conn_limits.py $<TARGET_FILE:slod>)
    set_tests_properties(integration.conn_limits PROPERTIES TIMEOUT 120 LABELS integration)
  endif()
endif()
