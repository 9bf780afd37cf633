total>-5
