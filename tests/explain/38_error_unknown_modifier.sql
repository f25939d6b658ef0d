select datetime(time, 'unixpoch') from process_events
