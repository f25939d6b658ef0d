select pid, comm from process_events where comm in ('bash', 'sh') and pid not in (1, 2) and uid between 1000 and 60000
