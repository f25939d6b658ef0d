select pid, remote_address, remote_name from socket_events where action = 'connect' and remote_name like '%.example.com'
