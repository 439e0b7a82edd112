"""The trio runtime: server, sessions, frames, animations and jobs.

The only layer that knows about tasks, channels and cancel scopes.
"""
