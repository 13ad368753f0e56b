"""One module per fluxctl command; ``main.py`` registers them."""
