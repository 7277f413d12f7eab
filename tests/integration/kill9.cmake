# integration.kill9: acknowledged remote writes survive kill -9 (owner: api).
# rw_pusher encodes WriteRequests with slod_ingest's generated prompb code + snappy.
if(TARGET slod)
  add_executable(rw_pusher rw_pusher.c ${CMAKE_SOURCE_DIR}/tests/api/http_client.c)
  target_include_directories(rw_pusher PRIVATE ${CMAKE_SOURCE_DIR}/tests/api)
  target_link_libraries(rw_pusher PRIVATE slod_ingest slod_warnings slod_sanitize)
  target_compile_definitions(rw_pusher PRIVATE _GNU_SOURCE)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    add_test(NAME integration.kill9
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_kill9.py
                     $<TARGET_FILE:slod> $<TARGET_FILE:rw_pusher>)
    set_tests_properties(integration.kill9 PROPERTIES TIMEOUT 240 LABELS integration)
  endif()
endif()
