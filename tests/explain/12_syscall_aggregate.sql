select comm, count(*) as n, avg(duration), hist(duration) from syscall_events where syscall = 'read' group by comm having count(*) > 10 order by n desc limit 5
