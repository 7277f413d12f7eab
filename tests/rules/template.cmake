slod_unit_test(rules.template SOURCES test_template.c DEPS slod_rules)
