select pid, path from process_events order by time desc limit 10
