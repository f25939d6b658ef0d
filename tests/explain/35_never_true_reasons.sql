select pid from process_events where comm = 'a-name-longer-than-15-bytes' and pid = -1 and cgroup_id = 18446744073709551615 and uid = 1 and uid = 2
