maj>#now(days=soon)
