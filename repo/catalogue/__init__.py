"""The release zone: the catalogue requestors clone, and the release remote beside it.

``audit`` checks that no value a release removed is anywhere in either: every
blob of the catalogue's history and every object of its release remote.
"""
