# alerting.recent: the bounded ring of recent notifications behind GET /api/v1/notifications.
slod_unit_test(alerting.recent SOURCES test_recent.c DEPS slod_alerting)
