select pid from process_events where pid = 1 and pid = 2
