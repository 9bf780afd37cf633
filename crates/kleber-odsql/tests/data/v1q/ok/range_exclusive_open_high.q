total:{10 TO *]
