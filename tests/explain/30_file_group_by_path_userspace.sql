select path, count(*) from file_events group by path
