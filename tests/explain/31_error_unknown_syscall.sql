select pid from syscall_events where syscall = 'opennat'
