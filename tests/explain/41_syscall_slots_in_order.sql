select * from syscall_events where syscall = 'read' and duration > 1000 and exit_code < 0 and arg0 = 3 and comm = 'x'
