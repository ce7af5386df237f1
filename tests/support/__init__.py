"""What the tests share besides fixtures: paths, keys, databases, helpers and a live server."""
