# main's flags and YAML config reader (the slod binary's settings), tested here with the API.
slod_unit_test(api.main_config SOURCES test_main_config.c DEPS slod_main)
