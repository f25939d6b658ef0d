select comm, count(*) as n from process_events group by comm having n > 2 and max(parent) > 1
