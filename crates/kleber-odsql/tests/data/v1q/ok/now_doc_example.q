maj>=#now(days=-7)
