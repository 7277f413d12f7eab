slod_unit_test(api.server SOURCES test_server.c http_client.c DEPS slod_api LABEL unit TIMEOUT 120)
