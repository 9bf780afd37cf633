(a OR b) c
