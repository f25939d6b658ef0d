select disk, hist(latency) from block_io_events where operation in ('read', 'write') and major = 254 group by disk
