select pid from process_events where pid < 5 or uid > 10
