# slo: YAML spec loader fuzz target (corpus replayed by CTest as fuzz.slo_yaml).
slod_fuzz_target(slo_yaml SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_slo_yaml.c DEPS slod_slo)
