select pid, comm from process_events order by pid
