slod_unit_test(slo.rulefile SOURCES test_rulefile.c DEPS slod_slo)
