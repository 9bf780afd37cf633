total: 
