select comm, name, qtype, rcode, answers, latency from dns_events where server_port in (53, 5353) and direction = 'response' and uid = 0
