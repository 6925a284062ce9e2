"""Everything with side effects: CLI, config, SFTP, PGP, API client, Postgres store, the run."""
