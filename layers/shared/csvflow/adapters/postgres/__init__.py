"""PostgreSQL, one module per job.

`connection` opens connections and runs transactions (turning driver errors into csvflow's),
`migrations` brings the schema up to date and grants the application's role, `repository`
records ingestions and summaries (the command side), `queries` reads them back.
"""
