"""The engine's API: one versioned protocol over a local socket for every client.

Messages are JSON-RPC 2.0 envelopes carried by WebSocket (the `websockets` library) over a
Unix domain socket, or TCP on loopback with a token where there is none. This package
knows nothing of the engine or the verbs: whoever builds the server fills its `Registry`.
"""
