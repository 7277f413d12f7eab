slod_unit_test(api.params SOURCES test_params.c DEPS slod_api)
