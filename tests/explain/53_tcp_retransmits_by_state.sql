select state, count(*) from tcp_events where action = 'retransmit' and remote_address = '10.0.0.1' group by state
