slod_unit_test(rules.manager SOURCES test_manager.c DEPS slod_rules)
