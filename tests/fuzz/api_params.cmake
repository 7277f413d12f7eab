# api: request parameter parsing (owner: api).
slod_fuzz_target(api_params SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_api_params.c DEPS slod_api)
