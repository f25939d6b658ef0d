select pid, comm, exit_code, signal_name from process_exit_events where exit_code between 1 and 255 or signal = 'SIGSEGV'
