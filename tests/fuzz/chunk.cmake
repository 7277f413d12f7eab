slod_fuzz_target(chunk SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_chunk.c DEPS slod_tsdb)
