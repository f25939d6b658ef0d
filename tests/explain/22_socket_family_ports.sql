select * from bpf_socket_events where family = 'AF_INET6' and local_port between 1 and 1023 and protocol = 'tcp'
