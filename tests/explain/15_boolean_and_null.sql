select pid from process_events where truncated and auid is not null
