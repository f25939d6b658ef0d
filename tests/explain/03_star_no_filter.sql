select * from process_events
