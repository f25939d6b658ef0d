select action, count(*) from sched_events where action in ('oncpu', 'offcpu') group by action
