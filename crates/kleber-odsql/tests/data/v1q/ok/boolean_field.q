ouvert:true
