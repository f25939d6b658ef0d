select action, avg(duration) from file_events where action = 'unlink' group by action
