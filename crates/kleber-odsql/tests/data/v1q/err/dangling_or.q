a OR
