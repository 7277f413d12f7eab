# integration.restart_delivery: kill -9 with notifications pending; after the restart every one is
# delivered exactly once and a pending alert keeps its `for` clock (owner: deliver).
if(TARGET slod)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    add_test(NAME integration.restart_delivery
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_restart_delivery.py $<TARGET_FILE:slod>)
    set_tests_properties(integration.restart_delivery PROPERTIES TIMEOUT 120 LABELS integration)
  endif()
endif()
