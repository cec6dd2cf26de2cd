"""Adapters: the technologies around the domain, each behind a port."""
