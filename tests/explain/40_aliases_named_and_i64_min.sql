select ppid, cid, lhist(pid, -9223372036854775808, 0, 4611686018427387904) from process_events group by ppid, cid
