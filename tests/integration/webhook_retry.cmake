# integration.webhook_retry: a failing-then-recovering webhook receives every notification exactly
# once, with backoff, HMAC, version-4 payloads; /metrics and /api/v1/notifications show the queue
# (owner: deliver).
if(TARGET slod)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    add_test(NAME integration.webhook_retry
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_webhook_retry.py $<TARGET_FILE:slod>)
    set_tests_properties(integration.webhook_retry PROPERTIES TIMEOUT 90 LABELS integration)
  endif()
endif()
