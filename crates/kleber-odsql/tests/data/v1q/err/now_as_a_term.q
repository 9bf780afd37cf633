#now(days=1)
