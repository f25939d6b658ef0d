select remote_port, avg(duration) from tcp_events where action = 'close' group by remote_port
