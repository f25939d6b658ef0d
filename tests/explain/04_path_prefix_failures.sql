select pid, path from process_events where path like '/usr/%' and exit_code < 0
