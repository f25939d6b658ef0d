select pid, comm, trigger_pid, anon_rss from oom_events where uid = 1000
