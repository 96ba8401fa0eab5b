"""`dfwatch schedule`: crawls, digests and housekeeping on APScheduler 3, in one long-running service.

- `jobs`: the jobs config asks for (a crawl per source on its interval or cron with jitter,
  a digest per subscription on its send time and zone, housekeeping) and the functions they run;
- `crawljob`: a crawl as a `dfwatch crawl` subprocess in its own process group, with a timeout;
- `outcomes`: how each run ended (`job_runs` in the state file), read by `dfwatch status`;
- `store`: the SQLAlchemy job store's URL, a read-only view of it, the one-service lock;
- `clock`: a compressed clock, so tests run a day of schedule in seconds;
- `service`: start, sync jobs with config, stop cleanly on SIGTERM.

Design notes: docs/scheduler.md.
"""
