select pid, parent, path, cmdline, cwd from process_events where cmdline like '%marker%'
