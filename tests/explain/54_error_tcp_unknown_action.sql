select pid from tcp_events where action = 'reset'
