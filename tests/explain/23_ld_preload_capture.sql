select pid, path, ld_preload from process_events where ld_preload is not null
