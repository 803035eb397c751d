"""Wire types: the msgspec Structs of every request and answer body.

One definition serves the server and the client SDK. This package depends on msgspec only, so
an application that imports ``greenlane.client`` does not pull in the server.
"""
