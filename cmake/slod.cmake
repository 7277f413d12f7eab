# Shared build helpers: warning and sanitizer INTERFACE targets, module and test helpers.

add_library(slod_warnings INTERFACE)
target_compile_options(slod_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
  $<$<C_COMPILER_ID:GNU>:-Wno-format-truncation>  # snprintf into bounded buffers truncates on purpose
  $<$<BOOL:${SLOD_WERROR}>:-Werror>)

add_library(slod_sanitize INTERFACE)
if(SLOD_SANITIZE)
  target_compile_options(slod_sanitize INTERFACE -fsanitize=${SLOD_SANITIZE} -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  target_link_options(slod_sanitize INTERFACE -fsanitize=${SLOD_SANITIZE})
  target_compile_definitions(slod_sanitize INTERFACE SLOD_ARENA_DEBUG=1)
endif()
if(SLOD_FUZZ)
  # Coverage instrumentation for every module when building libFuzzer targets (clang only).
  target_compile_options(slod_sanitize INTERFACE -fsanitize=fuzzer-no-link,address,undefined)
  target_link_options(slod_sanitize INTERFACE -fsanitize=address,undefined)
endif()

# slod_module(NAME SOURCES ... DEPS ... PRIVATE_DEPS ...)
# One folder = one module = one static library "slod_<NAME>", public headers in the folder.
function(slod_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(slod_${name} STATIC ${M_SOURCES})
  target_include_directories(slod_${name} PUBLIC ${CMAKE_SOURCE_DIR})
  target_compile_definitions(slod_${name} PUBLIC _GNU_SOURCE)
  target_link_libraries(slod_${name} PUBLIC ${M_DEPS} Threads::Threads m
                        PRIVATE slod_warnings slod_sanitize ${M_PRIVATE_DEPS})
endfunction()

# slod_unit_test(NAME module.name SOURCES ... DEPS ... [LABEL unit] [TIMEOUT 60])
# Builds one cmocka executable and registers it with CTest as NAME.
function(slod_unit_test name)
  cmake_parse_arguments(T "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT T_LABEL)
    set(T_LABEL unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  string(REPLACE "." "_" exe "test_${name}")
  add_executable(${exe} ${T_SOURCES})
  target_link_libraries(${exe} PRIVATE ${T_DEPS} PkgConfig::CMOCKA slod_warnings slod_sanitize)
  target_compile_definitions(${exe} PRIVATE SLOD_SOURCE_DIR="${CMAKE_SOURCE_DIR}" _GNU_SOURCE)
  add_test(NAME ${name} COMMAND ${exe})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS ${T_LABEL})
endfunction()

# slod_fuzz_target(NAME SOURCE ... DEPS ...)
# Always builds a corpus-replay executable (fuzz_replay.c main) registered in CTest as fuzz.NAME,
# replaying tests/fuzz/corpus/NAME. With SLOD_FUZZ=ON (clang) also builds a libFuzzer binary.
function(slod_fuzz_target name)
  cmake_parse_arguments(F "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(fuzz_replay_${name} ${F_SOURCES} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_replay.c)
  target_link_libraries(fuzz_replay_${name} PRIVATE ${F_DEPS} slod_warnings slod_sanitize)
  add_test(NAME fuzz.${name} COMMAND fuzz_replay_${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
  set_tests_properties(fuzz.${name} PROPERTIES TIMEOUT 300 LABELS fuzz)
  if(SLOD_FUZZ)
    add_executable(fuzz_${name} ${F_SOURCES})
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${name} PRIVATE ${F_DEPS} slod_sanitize)
  endif()
endfunction()
