"""Telling people what happened: signed webhooks and emails to site owners, queued after
commit, and the opt-out code texted to a callee.
"""
