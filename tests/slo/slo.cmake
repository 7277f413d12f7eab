# slo module tests: golden files (Sloth v0.16), validation, hostile YAML, promtool integration.
# The Sloth golden files are read in place from the shared conformance data (never copied).
set(_slo_sloth_dir ${CMAKE_SOURCE_DIR}/../shared/conformance/sloth)
if(NOT EXISTS ${_slo_sloth_dir})
  set(_slo_sloth_dir /work/shared/conformance/sloth)
endif()
slod_unit_test(slo.golden SOURCES test_golden.c DEPS slod_slo)
target_compile_definitions(test_slo_golden PRIVATE SLO_SHARED_SLOTH_DIR="${_slo_sloth_dir}")
slod_unit_test(slo.validate SOURCES test_validate.c DEPS slod_slo)
target_compile_definitions(test_slo_validate PRIVATE SLO_SHARED_SLOTH_DIR="${_slo_sloth_dir}")
slod_unit_test(slo.yaml SOURCES test_yaml.c DEPS slod_slo)
# Integration: promtool check rules on every generated output (needs /usr/bin/promtool), driving
# the real `slod generate` when main builds it, else a tiny stand-in around slo_cli_generate.
if(TARGET slod)
  set(_slo_cli $<TARGET_FILE:slod>)
else()
  add_executable(slo_cli_test slo_cli_main.c)
  target_link_libraries(slo_cli_test PRIVATE slod_slo slod_warnings slod_sanitize)
  set(_slo_cli $<TARGET_FILE:slo_cli_test>)
endif()
add_test(NAME slo.promtool COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/promtool_check.sh
         ${_slo_cli} ${_slo_sloth_dir} ${CMAKE_SOURCE_DIR}/examples/slos)
set_tests_properties(slo.promtool PROPERTIES TIMEOUT 300 LABELS integration)
