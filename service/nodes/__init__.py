"""What several app nodes share beyond the database rows of the features: which node
runs the background sweeps (a lease that moves when its holder dies)."""
