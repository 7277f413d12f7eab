# ingest: remote-write 2.0 decoder fuzz target (corpus replayed by CTest as fuzz.remote_write2).
slod_fuzz_target(remote_write2 SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_remote_write2.c DEPS slod_ingest)
# Seed-corpus generator (not built by default): gen_remote_write2_corpus <dir>
add_executable(gen_remote_write2_corpus EXCLUDE_FROM_ALL ${CMAKE_CURRENT_SOURCE_DIR}/gen_remote_write2_corpus.c)
target_link_libraries(gen_remote_write2_corpus PRIVATE slod_ingest slod_warnings)
