a OR b AND NOT c
