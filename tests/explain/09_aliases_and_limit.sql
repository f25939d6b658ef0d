select e.pid, cid from bpf_process_events e where cid = 42 limit 10
