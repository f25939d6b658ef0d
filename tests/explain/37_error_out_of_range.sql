select pid from process_events where pid in (1, 18446744073709551616)
