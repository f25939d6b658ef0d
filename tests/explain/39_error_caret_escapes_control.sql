select pid from process_events where comm = '[31m' and pidd = 1
