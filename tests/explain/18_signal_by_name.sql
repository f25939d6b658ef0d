select pid, comm, target_pid, target_comm from signal_events where signal in ('SIGKILL', 'SIGTERM', 15)
