# api.rw2_headers: remote-write 2.0 over real HTTP, the X-Prometheus-Remote-Write-*-Written headers.
slod_unit_test(api.rw2_headers SOURCES test_rw2_headers.c http_client.c DEPS slod_api LABEL unit TIMEOUT 60)
