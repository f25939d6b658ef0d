select disk, hist(latency), sum(bytes) from block_io_events group by disk
