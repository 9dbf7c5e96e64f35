"""`flowertui trace --audit`: a pass-through HTTP proxy in front of the program's OpenAI endpoint.

The proxy (proxy.py, a process of its own, like the offline server) forwards every byte unchanged and
reports one record per HTTP call (wire.py reads the bodies on the side, bounded: scan.py). process.py
starts it and turns its records into `audit_call` events; reconcile.py sets them beside the callback
runs. No Textual import here.
"""
