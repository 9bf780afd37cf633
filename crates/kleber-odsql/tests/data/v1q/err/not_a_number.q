total:1;DROP
