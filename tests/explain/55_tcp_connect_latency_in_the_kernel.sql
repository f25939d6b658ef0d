select state, hist(duration) from tcp_events where action = 'connect' and remote_port = 5432 group by state
