select pid from process_events group by pid
