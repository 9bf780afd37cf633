film
