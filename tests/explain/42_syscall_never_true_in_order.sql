select pid from syscall_events where nr = 1 and nr = 2 and duration > 5 and duration < 3 and exit_code = 1 and exit_code = 2
