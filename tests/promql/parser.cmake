# PromQL parse half: parser, printer, selector parser, regexes; lexer.
slod_unit_test(promql.parser SOURCES test_parser.c DEPS slod_promql)
slod_unit_test(promql.lexer SOURCES test_lexer.c DEPS slod_promql)
