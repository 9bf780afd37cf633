total:[* TO *]
