# tsdb storage engine tests (head, index, WAL, snapshot, retention).
slod_unit_test(tsdb.head SOURCES test_head.c DEPS slod_tsdb TIMEOUT 300)
slod_unit_test(tsdb.index SOURCES test_index.c DEPS slod_tsdb)
slod_unit_test(tsdb.wal SOURCES test_wal.c DEPS slod_tsdb TIMEOUT 300)
slod_unit_test(tsdb.snapshot SOURCES test_snapshot.c DEPS slod_tsdb TIMEOUT 300)
