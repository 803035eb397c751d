"""Thin Litestar controllers: decode, authorise, call a service, encode."""
