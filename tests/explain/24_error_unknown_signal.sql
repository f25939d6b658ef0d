select pid from signal_events where signal = 'SIGNOPE'
