select pid, comm, remote_address, remote_port from socket_events where action = 'connect' and remote_port not in (80, 443)
