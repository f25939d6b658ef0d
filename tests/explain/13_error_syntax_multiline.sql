select pid,
  path
from process_events
where path like '%x' and