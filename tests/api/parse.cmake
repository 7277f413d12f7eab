slod_unit_test(api.parse SOURCES test_parse.c http_client.c DEPS slod_api LABEL unit TIMEOUT 60)
