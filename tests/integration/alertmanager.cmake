# integration.alertmanager: slod's SLO page alert through a real Alertmanager, firing then resolved
# (endsAt in the past), routed to Alertmanager's own webhook receiver (owner: deliver).
if(TARGET slod)
  find_package(Python3 COMPONENTS Interpreter)
  find_program(SLOD_ALERTMANAGER prometheus-alertmanager PATHS /usr/bin)
  if(Python3_Interpreter_FOUND AND SLOD_ALERTMANAGER)
    add_test(NAME integration.alertmanager
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_alertmanager.py
                     $<TARGET_FILE:slod> ${SLOD_ALERTMANAGER})
    set_tests_properties(integration.alertmanager PROPERTIES TIMEOUT 120 LABELS integration)
  endif()
endif()
