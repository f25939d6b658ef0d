select pid, parent, path, cmdline from process_events where uid = 0
