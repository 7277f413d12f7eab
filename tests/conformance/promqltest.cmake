# conformance.promqltest: Prometheus's own PromQL test files run against slod's engine and an
# in-memory tsdb (tests/conformance/promqltest_runner.c). The data lives outside the repository
# (SLOD_PROMQLTEST_DIR); the test is only registered when it is present.
# The test passes while the pass count stays at or above the committed floor (--min-pass): raise
# it as the engine improves. Like Prometheus's test engine, a query may hold at most 10000
# samples. `promqltest_runner --report docs/conformance.md DIR` regenerates the list of failing
# evals.
# shared/ sits beside the clone (../shared), as in CI and in a developer's checkout.
set(_slod_promqltest_default ${CMAKE_SOURCE_DIR}/../shared/conformance/promqltest)
if(NOT EXISTS ${_slod_promqltest_default})
  set(_slod_promqltest_default /work/shared/conformance/promqltest)
endif()
set(SLOD_PROMQLTEST_DIR "${_slod_promqltest_default}" CACHE PATH
    "Prometheus promql/promqltest/testdata directory")
if(NOT EXISTS ${SLOD_PROMQLTEST_DIR})
  message(WARNING "PromQL conformance data not found at ${SLOD_PROMQLTEST_DIR}: conformance.promqltest is not run")
endif()
set(SLOD_PROMQLTEST_MIN_PASS 1302)

add_executable(promqltest_runner ${CMAKE_CURRENT_SOURCE_DIR}/promqltest_runner.c)
target_link_libraries(promqltest_runner PRIVATE slod_promql slod_tsdb slod_util slod_warnings slod_sanitize)
target_compile_definitions(promqltest_runner PRIVATE _GNU_SOURCE)
if(EXISTS ${SLOD_PROMQLTEST_DIR})
  add_test(NAME conformance.promqltest
           COMMAND promqltest_runner --min-pass ${SLOD_PROMQLTEST_MIN_PASS} --max-samples 10000
                   ${SLOD_PROMQLTEST_DIR})
  set_tests_properties(conformance.promqltest PROPERTIES TIMEOUT 900 LABELS conformance)
endif()
