nom>=#now(days=-1)
