slod_unit_test(api.json SOURCES test_json.c DEPS slod_api)
