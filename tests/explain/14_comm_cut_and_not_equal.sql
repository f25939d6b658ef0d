select pid from process_events where comm = 'a-very-long-command-name' and exit_code != -2
