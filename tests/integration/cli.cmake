# integration.cli: the slod binary's command line and signals (owner: api/main).
if(TARGET slod)
  add_test(NAME integration.cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli.sh $<TARGET_FILE:slod>)
  set_tests_properties(integration.cli PROPERTIES TIMEOUT 90 LABELS integration)
endif()
