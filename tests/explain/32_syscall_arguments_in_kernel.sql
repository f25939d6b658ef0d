select syscall, arg0, arg1 from syscall_events where syscall = 'lseek' and arg1 = 4096 and arg2 between 0 and 2
