# tsdb.watch: write watches (tsdb_watch_new/take/free): the oldest timestamp committed since a cursor.
slod_unit_test(tsdb.watch SOURCES test_watch.c DEPS slod_tsdb TIMEOUT 120)
