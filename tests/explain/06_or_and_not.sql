select pid from process_events where (pid = 10 or pid = 20 or pid in (30)) and not (uid = 0 or gid = 0)
