"""End-to-end tests: the app on a real port, driven over HTTP and in a browser."""
