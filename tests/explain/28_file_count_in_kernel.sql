select comm, action, count(*) from file_events group by comm, action
