select pdi from process_events
