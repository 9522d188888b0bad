"""From a table spec to its numbers: the plan of runs (plan.py), what each run does in its job (jobs.py),
submitting and following jobs (launch.py, cluster.py), the run records (store.py) and the views of
plan and status (show.py). Nothing here imports torch; jobs.py imports the stages inside the job."""
