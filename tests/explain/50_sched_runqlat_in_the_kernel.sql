select comm, hist(duration) from sched_events where action = 'runq' and pid in (1, 2) group by comm
