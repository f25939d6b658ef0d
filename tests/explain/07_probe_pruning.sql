select pid, syscall from process_events where syscall = 'execveat'
