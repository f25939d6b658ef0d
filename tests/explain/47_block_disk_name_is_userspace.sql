select comm, hist(bytes) from block_io_events where disk = 'vda' group by comm
