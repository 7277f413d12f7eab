# ingest: text exposition format fuzz target (corpus replayed by CTest as fuzz.text).
slod_fuzz_target(text SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_text.c DEPS slod_ingest)
