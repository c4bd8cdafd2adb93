"""laurel's domain core: the rules of recognition, standard library only."""
