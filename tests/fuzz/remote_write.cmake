# ingest: remote-write decoder fuzz target (corpus replayed by CTest as fuzz.remote_write).
slod_fuzz_target(remote_write SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_remote_write.c DEPS slod_ingest)
# Seed-corpus generator (not built by default): gen_remote_write_corpus <dir>
add_executable(gen_remote_write_corpus EXCLUDE_FROM_ALL ${CMAKE_CURRENT_SOURCE_DIR}/gen_remote_write_corpus.c)
target_link_libraries(gen_remote_write_corpus PRIVATE slod_ingest slod_warnings)
