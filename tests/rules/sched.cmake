# rules scheduler: due-time heap, batched wake-ups, reload mid-cycle, missed slots (test_sched.c);
# rules_sched_bench measures the scheduler thread's CPU in real time (not run by CTest).
add_executable(rules_sched_bench bench_sched.c)
target_link_libraries(rules_sched_bench PRIVATE slod_rules slod_warnings slod_sanitize)
slod_unit_test(rules.sched SOURCES test_sched.c DEPS slod_rules PkgConfig::XXHASH TIMEOUT 300)
