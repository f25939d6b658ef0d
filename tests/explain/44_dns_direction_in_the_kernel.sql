select pid, comm, name, answers from dns_events where direction = 'response' and name like '%.example.com'
