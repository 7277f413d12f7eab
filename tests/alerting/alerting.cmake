slod_unit_test(alerting.notify SOURCES test_alerting.c DEPS slod_alerting PkgConfig::LIBCRYPTO)
