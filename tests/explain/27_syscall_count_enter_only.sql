select syscall, count(*) from syscall_events where pid = 1 group by syscall
